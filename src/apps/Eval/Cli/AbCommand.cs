using System.CommandLine;
using Spectre.Console;
using Uld.Cli;
using Uld.Contracts;
using Uld.Evaluation.Data;
using Uld.Eval.Client;
using Uld.Eval.Reports;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary>
/// <c>ab</c>: the variants of a gateway A/B experiment measured on the same prompts. One sticky user is found per
/// variant (the gateway names the variant in X-Uld-Variant), then each user's traffic is evaluated like a deployment.
/// </summary>
public static class AbCommand
{
    public static Command Create()
    {
        var common = new EvalOptions("http://127.0.0.1:8080");
        var experiment = new Option<string>("--experiment") { Description = "experiment (model name) configured in the gateway", Required = true };
        var retain = new Option<string>("--retain-model") { Description = "retain model deployment reachable through the gateway", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { DefaultValueFactory = _ => new FileInfo("bench/results/ab-report.md") };
        var command = new Command("ab", "A/B report of a gateway experiment: metrics side by side, example answers, plot.")
        {
            experiment, retain, output,
        };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliErrors.RunAsync(parse, async () =>
        {
            var definition = common.LoadSplit(parse);
            var sets = common.LoadSets(parse, definition);
            using var http = common.CreateHttp(parse);
            var client = new UldApiClient(http);
            var name = parse.GetValue(experiment)!;

            // Stickiness makes a user a handle on a variant: probe users until every variant seen has one.
            var users = new Dictionary<string, string>();
            for (var i = 0; i < 64 && users.Count < 8; i++)
            {
                var user = $"ab-report-{i}";
                var variant = await client.VariantOfAsync(name, user, ct) ?? throw new UserErrorException($"'{name}' is not an A/B experiment of this gateway (no X-Uld-Variant header).");
                users.TryAdd(variant, user);
                if (i >= 16 && users.Count >= 2) break;
            }
            if (users.Count < 2) throw new UserErrorException($"64 users all landed in one variant of '{name}'; is the experiment's weight split degenerate?");

            var deployments = users.Select(kv => new DeploymentRef(name, User: kv.Value)).ToList();
            var labels = users.ToDictionary(kv => new DeploymentRef(name, User: kv.Value).ToString(), kv => kv.Key);
            var options = new TofuEvaluationOptions();
            var run = await TofuCommand.EvaluateAsync(new TofuEvaluator(client, sets, options), deployments, DeploymentRef.Parse(parse.GetValue(retain)!),
                parse.GetValue(common.Forget)!, definition.Name, options, ct);
            var path = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var markdown = AbReport.Write(name, run, labels, Path.ChangeExtension(path, null) + ".png");
            AtomicFile.WriteAllText(path, markdown);
            AtomicFile.WriteAllText(Path.ChangeExtension(path, ".json"), run.ToJson());
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
            return 0;
        }));
        return command;
    }
}
