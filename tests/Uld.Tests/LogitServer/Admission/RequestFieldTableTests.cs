using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Uld.Contracts.OpenAi;
using Uld.LogitServer.Admission;
using Uld.Tests.Support;

namespace Uld.Tests.LogitServer.Admission;

/// <summary>
/// docs/DESIGN.md's table of request fields, run: every row's examples against admission, on each endpoint it names,
/// and the table's fields against the ones the code reads or refuses — a field cannot be added to one without the other.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RequestFieldTableTests(ServerFixture fixture)
{
    public sealed record Row(string Field, string Endpoint, string Status, string Accepted, string Refused);

    private static readonly Lazy<IReadOnlyList<Row>> Table = new(ReadTable);

    public static TheoryData<string, string, string, string, string> Examples()
    {
        var data = new TheoryData<string, string, string, string, string>();
        foreach (var row in Table.Value) data.Add(row.Field, row.Endpoint, row.Status, row.Accepted, row.Refused);
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Each_documented_example_is_accepted_or_refused_as_the_table_says(string field, string endpoint, string status, string accepted, string refused)
    {
        await AdmitAsync(endpoint, accepted);
        var error = await Assert.ThrowsAsync<OpenAiException>(() => AdmitAsync(endpoint, refused));
        Assert.InRange(error.Status, 400, 404);
        var name = TopLevel(field);
        Assert.True(error.Param == name || error.Param?.StartsWith(name + ".", StringComparison.Ordinal) == true
            || error.Param?.StartsWith(name + "[", StringComparison.Ordinal) == true, $"{field}: the error names '{error.Param}'");
        if (status == "refused") Assert.Equal("unsupported_parameter", error.Code);
    }

    [Theory]
    [InlineData("chat", typeof(ChatCompletionRequest), CompletionEndpoints.Chat)]
    [InlineData("completions", typeof(CompletionRequest), CompletionEndpoints.Completions)]
    public void The_table_lists_exactly_the_fields_the_code_reads_or_refuses(string endpoint, Type request, CompletionEndpoints flag)
    {
        var read = request.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name).OfType<string>();
        var refused = UnsupportedParameters.All.Where(f => f.Endpoints.HasFlag(flag)).Select(f => f.Name);
        var documented = Table.Value.Where(r => r.Endpoint == endpoint).Select(r => TopLevel(r.Field)).Distinct().Order();
        Assert.Equal(read.Concat(refused).Distinct().Order(), documented);
        Assert.All(Table.Value, r => Assert.Contains(r.Status, new[] { "honoured", "neutral", "refused" }));
    }

    private async Task AdmitAsync(string endpoint, string fragment)
    {
        var admission = fixture.Server.App.Services.GetRequiredService<RequestAdmission>();
        var body = endpoint == "chat"
            ? new JsonObject { ["model"] = "stories-uld", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }), ["max_tokens"] = 5 }
            : new JsonObject { ["model"] = "stories-uld", ["prompt"] = "hi", ["max_tokens"] = 5 };
        foreach (var (key, value) in JsonNode.Parse(fragment)!.AsObject()) body[key] = value?.DeepClone();
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body.ToJsonString()));
        if (endpoint == "chat") await admission.AdmitChatAsync(context.Request, default);
        else await admission.AdmitCompletionAsync(context.Request, default);
    }

    private static string TopLevel(string field) => field.Split('[', '.')[0];

    /// <summary>The rows of the table under *Request fields*, one per endpoint a row names.</summary>
    private static IReadOnlyList<Row> ReadTable()
    {
        var lines = File.ReadAllLines(Path.Combine(SharedPaths.RepositoryRoot, "docs", "DESIGN.md"));
        var header = Array.FindIndex(lines, l => l.StartsWith("| field | endpoints | status |", StringComparison.Ordinal));
        Assert.True(header >= 0, "docs/DESIGN.md has no request-field table");
        var rows = new List<Row>();
        foreach (var line in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Trim('|').Split(" | ").Select(c => c.Trim().Trim('`')).ToArray();
            Assert.True(cells.Length == 6, $"a request-field row needs 6 cells: {line}");
            var endpoints = cells[1] == "both" ? new[] { "chat", "completions" } : [cells[1]];
            rows.AddRange(endpoints.Select(e => new Row(cells[0], e, cells[2], cells[4], cells[5])));
        }
        return rows;
    }
}
