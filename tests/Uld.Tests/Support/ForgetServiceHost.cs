using Microsoft.AspNetCore.Builder;
using Uld.Forget;
using Uld.Gateway.Security;

namespace Uld.Tests.Support;

/// <summary>
/// The forget-request service (uld-forget) on a free loopback port, configured for the TOFU-mini target: requests may
/// change <see cref="Deployment"/> (and <see cref="UldDeployment"/>), assistants train against models/tofu-mini-target,
/// the holdout is authors the target never saw and the retain sample authors it learned and keeps.
/// </summary>
public sealed class ForgetServiceHost : IAsyncDisposable
{
    public const string AdminKey = "sk-forget-admin";
    public const string Deployment = "tofu-mini-target";
    public const string UldDeployment = "tofu-mini-uld";

    public required WebApplication App { get; init; }
    public required Uri Address { get; init; }
    public required string DataDirectory { get; init; }

    public HttpClient Client(string? key = AdminKey)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return client;
    }

    /// <summary>Settings for a service whose data lives under <paramref name="root"/>; the caller adds replicas and overrides.</summary>
    public static Dictionary<string, string?> Settings(string root)
    {
        var holdout = TofuRequestData.Write(Path.Combine(root, "config", "holdout.jsonl"), [100, 101], perAuthor: 10);
        var retain = TofuRequestData.Write(Path.Combine(root, "config", "retain.jsonl"), [0, 1, 2], perAuthor: 10);
        var settings = new Dictionary<string, string?>
        {
            ["Forget:DataDirectory"] = Path.Combine(root, "data"),
            ["Forget:AdminKeys:0:Name"] = "ops",
            ["Forget:AdminKeys:0:Sha256"] = ApiKeyStore.Hash(AdminKey),
            ["Forget:PollInterval"] = "00:00:00.200",
        };
        foreach (var name in new[] { Deployment, UldDeployment })
        {
            var at = $"Forget:Deployments:{name}";
            settings[$"{at}:TargetModel"] = RepositoryModels.Target;
            settings[$"{at}:HoldoutFile"] = holdout;
            settings[$"{at}:RetainFile"] = retain;
        }
        return settings;
    }

    public static async Task<ForgetServiceHost> StartAsync(Dictionary<string, string?> settings)
    {
        var (app, address) = await ForgetApp.StartOnLoopbackAsync(settings);
        return new ForgetServiceHost { App = app, Address = address, DataDirectory = settings["Forget:DataDirectory"]! };
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
