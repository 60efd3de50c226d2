using Uld.Contracts;
using System.CommandLine;
using Uld.Evaluation.Data;
using Uld.Eval.Client;
using Uld.Eval.Tofu;

namespace Uld.Eval.Cli;

/// <summary>The options every API-measuring command shares: where the server is and which TOFU questions to ask.</summary>
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
        foreach (var option in new Option[] { Url, ApiKey, Data, Split, Forget, MaxQuestions }) command.Options.Add(option);
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
