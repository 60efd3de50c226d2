using Uld.Contracts;
using System.CommandLine;
using Spectre.Console;
using Uld.Evaluation.Data;
using Uld.Eval.Client;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary>The options API-measuring commands share: where the server is, which deployments, which TOFU questions to ask, where results go.</summary>
public sealed class EvalOptions
{
    public Option<string> Url { get; }
    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "bearer key (the gateway); default $ULD_API_KEY" };
    public Option<DirectoryInfo> Data { get; } = new("--data") { Description = "TOFU directory", DefaultValueFactory = _ => new DirectoryInfo("../shared/data/tofu") };
    public Option<FileInfo> Split { get; } = new Option<FileInfo>("--split") { Description = "split definition", DefaultValueFactory = _ => new FileInfo("data/tofu-mini.json") }.AcceptExistingOnly();
    public Option<string> Forget { get; } = new("--forget") { Description = "forget set of the split", DefaultValueFactory = _ => "forget4" };
    public Option<int> MaxQuestions { get; } = new("--max-questions") { Description = "questions per set (TOFU's reference: 300)", DefaultValueFactory = _ => 300 };

    public EvalOptions(string defaultUrl) =>
        Url = new Option<string>("--url") { Description = "base URL of LogitServer or the gateway", DefaultValueFactory = _ => defaultUrl };

    public void AddTo(Command command)
    {
        AddServerTo(command);
        foreach (var option in new Option[] { Data, Split, Forget, MaxQuestions }) command.Options.Add(option);
    }

    /// <summary>Only where the server is (--url, --api-key): for commands that bring their own data.</summary>
    public void AddServerTo(Command command)
    {
        command.Options.Add(Url);
        command.Options.Add(ApiKey);
    }

    /// <summary>-m: the deployments to evaluate (<see cref="DeploymentRef.Parse"/>).</summary>
    public static Option<string[]> Deployments() =>
        new("--model", "-m") { Description = "deployment to evaluate: name, name@alpha or name@alpha@r (repeat)", Required = true, AllowMultipleArgumentsPerToken = true };

    public static Option<int> Concurrency() => new("--concurrency") { Description = "requests in flight at once", DefaultValueFactory = _ => 16 };

    public static Option<FileInfo> ResultsOutput() => new("--output", "-o") { Description = "results JSON (a .md summary is written beside it)", Required = true };

    /// <summary>The results JSON and its Markdown summary beside it (same name, .md), each written atomically; the summary is also printed.</summary>
    public static void WriteResults(string path, string json, string markdown)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, json);
        AtomicFile.WriteAllText(Path.ChangeExtension(path, ".md"), markdown);
        AnsiConsole.Write(new Markup(Markup.Escape(markdown)));
        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {path}");
    }

    public TofuSplitDefinition LoadSplit(ParseResult parse) => TofuSplitDefinition.Load(parse.GetValue(Split)!.FullName);

    public TofuEvalSets LoadSets(ParseResult parse, TofuSplitDefinition split) =>
        TofuEvalSets.Load(parse.GetValue(Data)!.FullName, split, parse.GetValue(Forget)!, parse.GetValue(MaxQuestions));

    public HttpClient CreateHttp(ParseResult parse) =>
        UldApiClient.CreateHttp(BaseUrl(parse.GetValue(Url)!), parse.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("ULD_API_KEY"));

    public static Uri BaseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new UserErrorException($"--url '{text}' is not an http(s) URL.");
}
