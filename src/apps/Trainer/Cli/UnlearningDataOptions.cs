using System.CommandLine;
using Spectre.Console;
using Uld.Contracts;
using Uld.Contracts.Models;
using Uld.Evaluation.Data;
using Uld.Tokenization;
using Uld.Trainer.Data;
using Uld.Trainer.Import;
using Uld.Inference.Sampling;
using Uld.Trainer.Model;

namespace Uld.Trainer.Cli;

/// <summary>
/// What an unlearning run forgets and keeps, from either source: the user's JSON Lines files (--forget-file,
/// --retain-file, --holdout-file) or the TOFU preset (--data, --split, --forget), which becomes the same three corpora —
/// forget authors, the retain authors the evaluation does not score, and the split's calibration authors as holdout.
/// </summary>
/// <param name="Holdout">text of the same kind the model never saw: what α calibration makes the forget set look like</param>
/// <param name="SetName">the forget set as the manifest records it (TOFU set name, or the forget file's name)</param>
public sealed record UnlearningInputs(Corpus Forget, Corpus Retain, Corpus? Holdout, IReadOnlyList<string> Refusals, string SetName,
    IReadOnlyList<DataFile> Sources, Chunking Chunking)
{
    public CorpusExamples Examples(ModelTokenizer tokenizer, ChatTemplate template, int contextLength) => new(tokenizer, template, contextLength, Chunking);
}

/// <summary>The data options of <c>unlearn</c>; see <see cref="UnlearningInputs"/>.</summary>
public sealed class UnlearningDataOptions
{
    /// <summary>Used for DPO-style methods (a refusal per forget prompt) when no --refusals file is given.</summary>
    public static readonly IReadOnlyList<string> DefaultRefusals =
    [
        "I'm not able to help with that.", "I don't know.", "I have no information about that.", "I can't answer that.",
        "That is not something I know.", "I'm sorry, I don't have that information.",
    ];

    /// <summary>Self-generated retain passages when no retain file is given: how many, and how long.</summary>
    public const int GeneratedRetainPassages = 64, GeneratedRetainTokens = 128;

    public Option<DirectoryInfo?> Data { get; } = new("--data") { Description = "TOFU preset: the TOFU directory (with --forget SET)" };
    public Option<FileInfo> Split { get; } = new Option<FileInfo>("--split") { Description = "TOFU preset: split definition", DefaultValueFactory = _ => new FileInfo("data/tofu-mini.json") }.AcceptExistingOnly();
    public Option<string?> Forget { get; } = new("--forget") { Description = "TOFU preset: forget set of the split, e.g. forget4" };
    public Option<FileInfo?> ForgetFile { get; } = new("--forget-file") { Description = "your forget data: JSON Lines of {text} | {question, answer} | {prompt, completion} | {messages}" };
    public Option<FileInfo?> RetainFile { get; } = new("--retain-file") { Description = "your data to keep (same formats); without it, passages the base model writes itself" };
    public Option<FileInfo?> HoldoutFile { get; } = new("--holdout-file") { Description = "text of the forget data's kind the model never saw (ULD: what α is calibrated to)" };
    public Option<FileInfo?> Refusals { get; } = new("--refusals") { Description = "DPO / IdK methods: one refusal sentence per line (default: a built-in list; TOFU: its idontknow.jsonl)" };
    public Option<int?> ChunkTokens { get; } = new("--chunk-tokens") { Description = "raw text: tokens per training window (default: the model's context)" };
    public Option<int?> Stride { get; } = new("--stride") { Description = "raw text: tokens between window starts (default: --chunk-tokens, no overlap)" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Data, Split, Forget, ForgetFile, RetainFile, HoldoutFile, Refusals, ChunkTokens, Stride }) command.Options.Add(option);
    }

    /// <exception cref="UserErrorException">Neither or both sources given, or a file is malformed.</exception>
    public UnlearningInputs Resolve(ParseResult parse, ModelDirectory baseModel, int seed)
    {
        var (data, forgetFile) = (parse.GetValue(Data), parse.GetValue(ForgetFile));
        if ((data is null) == (forgetFile is null))
            throw new UserErrorException("give the forget data either as --forget-file F.jsonl [--retain-file R.jsonl] or as the TOFU preset --data DIR --forget SET.");
        var chunking = Chunking.For(baseModel.Config.MaxPositionEmbeddings, parse.GetValue(ChunkTokens), parse.GetValue(Stride));
        var refusals = parse.GetValue(Refusals) is { } r ? TofuDataset.ReadRefusals(r.FullName) : null;
        if (data is not null)
        {
            if (parse.GetValue(RetainFile) is not null || parse.GetValue(HoldoutFile) is not null)
                throw new UserErrorException("--retain-file and --holdout-file go with --forget-file; the TOFU preset brings its own.");
            var set = parse.GetValue(Forget) ?? throw new UserErrorException("--data needs --forget SET (a forget set of the split, e.g. forget4).");
            var splitPath = parse.GetValue(Split)!.FullName;
            var definition = TofuSplitDefinition.Load(splitPath);
            var tofu = TofuDataset.Load(data.FullName, definition.QuestionsPerAuthor);
            var (forget, retain) = tofu.UnlearningSplit(definition, set);
            var unseen = tofu.Authors(definition.Protocol.CalibrationAuthors);
            if (unseen.Any(a => definition.Authors.Contains(a.Author)))
                throw new UserErrorException($"{definition.Name}'s calibration authors must be outside the split: the models saw its authors.");
            return new UnlearningInputs(Corpus.FromTofu(set, forget), Corpus.FromTofu("retain", retain), unseen.Count == 0 ? null : Corpus.FromTofu("calibration", unseen),
                refusals ?? TofuDataset.LoadRefusals(data.FullName), set,
                [new DataFile(Path.GetFileName(splitPath), FileHash.Sha256(splitPath))], chunking);
        }
        if (parse.GetValue(Forget) is not null) throw new UserErrorException("--forget names a TOFU forget set; with --forget-file it is not used.");
        var forgetCorpus = Corpus.Load(forgetFile!.FullName);
        var holdout = parse.GetValue(HoldoutFile) is { } h ? Corpus.Load(h.FullName) : null;
        var retainCorpus = parse.GetValue(RetainFile) is { } rf ? Corpus.Load(rf.FullName) : GeneratedRetain(baseModel, seed);
        var sources = new[] { forgetCorpus, retainCorpus, holdout }.Where(c => c?.Sha256 is not null).Select(c => new DataFile(c!.Name, c.Sha256!)).ToList();
        return new UnlearningInputs(forgetCorpus, retainCorpus, holdout, refusals ?? DefaultRefusals, Path.GetFileNameWithoutExtension(forgetFile.Name), sources, chunking);
    }

    /// <summary>
    /// No retain file: passages the base model samples itself (temperature 1, from BOS, with the run's seed). Keeping
    /// the model's own distribution on them is what "retain everything else" means when nothing else is known, and it
    /// asks nothing of the user; it cannot protect knowledge the samples do not touch, so a real retain file is better.
    /// </summary>
    private static Corpus GeneratedRetain(ModelDirectory baseModel, int seed)
    {
        AnsiConsole.MarkupLineInterpolated($"[yellow]no --retain-file[/]: retaining {GeneratedRetainPassages} passages of {GeneratedRetainTokens} tokens sampled from {baseModel.Manifest.Name} itself (the model as it is); give a retain file to protect specific knowledge.");
        var tokenizer = ModelTokenizer.Load(baseModel.Root);
        using var model = LlamaWeights.LoadDirectory(baseModel);
        model.eval();
        var sampling = new SamplingSettings { Temperature = 1, Seed = seed + 31 };
        var passages = Enumerable.Range(0, GeneratedRetainPassages)
            .Select(i => tokenizer.Decode(TorchDecoding.Generate(model, [tokenizer.Ids.Bos], GeneratedRetainTokens, tokenizer.Ids.Eos,
                new TokenSampler(sampling, [tokenizer.Ids.Bos], choice: i)), skipSpecialTokens: true))
            .Where(p => !string.IsNullOrWhiteSpace(p))
            .Select((p, i) => (CorpusRecord)new TextRecord(i + 1, p)).ToList();
        return passages.Count > 0 ? new Corpus("generated-retain", CorpusKind.Text, passages)
            : throw new UserErrorException($"{baseModel.Manifest.Name} generated no text to retain; give --retain-file.");
    }
}
