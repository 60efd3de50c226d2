using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Uld.LogitServer.Deployments;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Deployments;

/// <summary>
/// Start-up is proportional to the models, not the deployments: each model directory is verified (every file hashed
/// against its manifest) once per process however many deployments share it, at start-up or through the admin API,
/// and the log says how long each took — while a directory whose files change is verified again.
/// </summary>
public sealed class ModelVerificationTests
{
    /// <summary>A plain, a ULD and an offset deployment over one base; the ULD assistant is the offset's reference too.</summary>
    private static Dictionary<string, string?> ThreeOverOneBase(string target) => AdminApi.Enabled(new Dictionary<string, string?>
    {
        ["LogitServer:Deployments:0:Name"] = "target", ["LogitServer:Deployments:0:Kind"] = "Plain", ["LogitServer:Deployments:0:Model"] = target,
        ["LogitServer:Deployments:1:Name"] = "uld", ["LogitServer:Deployments:1:Kind"] = "Uld", ["LogitServer:Deployments:1:Base"] = target,
        ["LogitServer:Deployments:1:Assistant"] = RepositoryModels.UldAssistant, ["LogitServer:Deployments:1:AlphaDefault"] = "2",
        ["LogitServer:Deployments:1:AlphaMax"] = "4",
        ["LogitServer:Deployments:2:Name"] = "offset", ["LogitServer:Deployments:2:Kind"] = "Offset", ["LogitServer:Deployments:2:Base"] = target,
        ["LogitServer:Deployments:2:Reference"] = RepositoryModels.UldAssistant, ["LogitServer:Deployments:2:Unlearned"] = RepositoryModels.NpoGd,
    });

    private static async Task<(LogitServerHost Server, LogCapture Log)> StartAsync(Dictionary<string, string?> settings)
    {
        var log = new LogCapture();
        // Information is what production runs at; the test host's own level depends on which app's appsettings.json the
        // build copied last into the test output, so the capture sets its own.
        var server = await LogitServerHost.StartAsync(settings, builder => builder.Logging.AddProvider(log).SetMinimumLevel(LogLevel.Information));
        return (server, log);
    }

    /// <summary>The verification lines, as model directory → their VerifySeconds.</summary>
    private static List<(string Directory, double Seconds)> Verifications(LogCapture log) =>
        log.Entries.Where(e => e.Category == typeof(DeploymentRegistry).FullName && e.State.ContainsKey("ModelDirectory"))
            .Select(e => ((string)e.State["ModelDirectory"]!, (double)e.State["VerifySeconds"]!)).ToList();

    [Fact]
    public async Task Three_deployments_over_one_base_verify_it_once_and_a_put_reusing_it_does_not_hash_it_again()
    {
        var (server, log) = await StartAsync(ThreeOverOneBase(RepositoryModels.Target));
        await using (server)
        {
            var registry = server.App.Services.GetRequiredService<DeploymentRegistry>();
            var started = Verifications(log);
            Assert.Equal([RepositoryModels.Target, RepositoryModels.UldAssistant, RepositoryModels.NpoGd], started.Select(v => v.Directory));
            Assert.All(started, v => Assert.InRange(v.Seconds, 0, 60));
            Assert.Equal(3, registry.Models.Verifications);

            var (status, body, _) = await AdminApi.PutAsync(server.Http, "another-uld",
                new JsonObject { ["Kind"] = "Uld", ["Base"] = RepositoryModels.Target, ["Assistant"] = RepositoryModels.UldAssistant, ["AlphaDefault"] = 1.0 });
            Assert.True(status == 201, body?.ToJsonString());
            Assert.Equal(3, registry.Models.Verifications);
            Assert.Equal(started, Verifications(log));
            // The reused verification still names what was loaded.
            Assert.Equal(body!["model_sha256"]!["base"]!.GetValue<string>(), (await AdminApi.ListAsync(server.Http))["target"]["model_sha256"]!["model"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_directory_changed_on_disk_is_verified_again_and_refused()
    {
        using var temp = new TempDirectory();
        var copy = temp["target"];
        DirectoryCopy.Copy(RepositoryModels.Target, copy);
        var (server, log) = await StartAsync(ThreeOverOneBase(copy));
        await using (server)
        {
            Assert.Single(Verifications(log), v => v.Directory == copy);
            File.AppendAllText(Path.Combine(copy, "generation_config.json"), "\n");

            var (status, body, _) = await AdminApi.PutAsync(server.Http, "target-again", new JsonObject { ["Kind"] = "Plain", ["Model"] = copy });
            Assert.Equal(400, status);
            Assert.Contains("generation_config.json has sha256", body!["error"]!["message"]!.GetValue<string>());
            Assert.Equal(4, server.App.Services.GetRequiredService<DeploymentRegistry>().Models.Verifications);
        }
    }
}
