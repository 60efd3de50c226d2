using System.Text.RegularExpressions;
using Uld.Tests.Support;
using Uld.Trainer.Cli;
using Uld.Trainer.Unlearning;
using Uld.Trainer.Unlearning.Methods;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>
/// Unlearning methods are one table (<see cref="ForgetTerms.All"/>, <see cref="UnlearningMethods.All"/>): the method
/// names, the CLI's list and validation come from it, and nothing outside a term's own class branches on its name.
/// In <see cref="TorchSharpCollection"/> because it reads CLI output through the process-wide console.
/// </summary>
[Collection(TorchSharpCollection.Name)]
public sealed partial class UnlearningMethodsTests
{
    [Fact]
    public void The_table_offers_exactly_the_published_method_names()
    {
        // docs/METHODS.md's list; a term registered or removed changes this on purpose.
        string[] published =
        [
            "ga", "ga+gd", "ga+kl", "ga-mean", "ga-mean+gd", "ga-mean+kl", "ga-bounded", "ga-bounded+gd", "ga-bounded+kl",
            "npo", "npo+gd", "npo+kl", "npo-tokenweighted", "npo-tokenweighted+gd", "npo-tokenweighted+kl", "simnpo", "simnpo+gd", "simnpo+kl",
            "dpo", "dpo+gd", "dpo+kl", "idk", "idk+gd", "flat-kl", "flat-tv", "flat-js", "flat-pearson", "task-vector", "ga-gradsim+gd", "rmu",
        ];
        Assert.Equal(published, GradientUnlearner.Methods);
        Assert.Equal(["uld", .. published, "offset-ga+kl", "offset-dpo+kl", "offset-npo+kl"], UnlearningMethods.All.Select(m => m.Name));
        Assert.Equal(published.Where(m => m.StartsWith("dpo", StringComparison.Ordinal) || m.StartsWith("idk", StringComparison.Ordinal) || m.StartsWith("flat-", StringComparison.Ordinal)),
            published.Where(GradientUnlearner.NeedsRefusals));
        Assert.Null(ForgetTerms.Of("idk+kl")); // a term not offered with a retain term is not a method
        Assert.Null(ForgetTerms.Of("ga-gradsim")); // offered with +gd only
        Assert.Equal(1e-2, new GradientOptions().For("rmu").Training.LearningRate);
        Assert.Equal(new GradientOptions().Training.LearningRate, new GradientOptions().For("npo+gd").Training.LearningRate);
    }

    [Fact]
    public void The_methods_command_lists_every_method_and_an_unknown_method_names_them()
    {
        var (exit, printed) = ConsoleCapture.Run(() => TrainerCli.Run(["methods"]));
        Assert.Equal(0, exit);
        Assert.All(UnlearningMethods.All, m => Assert.Contains(m.Name, printed));
        (exit, printed) = ConsoleCapture.Run(() => TrainerCli.Run(["unlearn", "--method", "tnpo+gd", "--base", "x", "--data", "x", "-o", "x"]));
        Assert.Equal(2, exit);
        Assert.Contains("now called 'npo-tokenweighted+gd'", printed);
        Assert.Contains("offset-npo+kl", printed);
    }

    [Fact]
    public void Every_forget_term_is_one_registered_class_in_its_own_file_and_no_code_branches_on_a_method_name()
    {
        var folder = Path.Combine(SharedPaths.RepositoryRoot, "src", "apps", "Trainer", "Unlearning", "Methods");
        var terms = typeof(ForgetTerm).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(ForgetTerm)) && !t.IsAbstract).ToList();
        Assert.Equal(terms.OrderBy(t => t.Name), ForgetTerms.All.Select(t => t.GetType()).Distinct().OrderBy(t => t.Name));
        Assert.All(terms, t => Assert.True(File.Exists(Path.Combine(folder, t.Name + ".cs")), $"{t.Name} is not in {t.Name}.cs"));

        // Outside the terms' own files, code asks the term (NeedsRefusals, OnLogits, Defaults, …), never compares names.
        var names = ForgetTerms.All.Select(t => t.Name).Concat(["uld"]).ToHashSet();
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(SharedPaths.RepositoryRoot, "src", "apps", "Trainer"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(folder, StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal)))
        {
            foreach (Match m in NameComparison().Matches(File.ReadAllText(file)))
                if (names.Any(n => m.Groups["name"].Value.StartsWith(n, StringComparison.Ordinal)))
                    offenders.Add($"{Path.GetFileName(file)}: {m.Value}");
        }
        Assert.True(offenders.Count == 0, string.Join(Environment.NewLine, offenders));
    }

    /// <summary>A method name compared as a string: == "x", != "x", is "x", StartsWith("x"), case "x".</summary>
    [GeneratedRegex(@"(?:[!=]=\s*|\bis\s+|StartsWith\(|case\s+)""(?<name>[a-z][a-z-]*)""")]
    private static partial Regex NameComparison();
}
