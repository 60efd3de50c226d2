using Uld.Contracts.Forget;
using Uld.Contracts.OpenAi;
using Uld.Forget.Configuration;
using Uld.Forget.Store;
using Uld.Forget.Worker;
using Uld.Web;

namespace Uld.Forget.Api;

/// <summary>The request API (docs/FORGET-REQUESTS.md, *API*): submit, list, look up, and read the audit record.</summary>
public static partial class ForgetRequestsEndpoints
{
    /// <summary>Whether a path (as routing sees it: any case, one trailing slash) is one of the API's, whatever the method.</summary>
    public static bool IsKnownPath(PathString path) => KnownPath().IsMatch(path.Value ?? "");

    [System.Text.RegularExpressions.GeneratedRegex(@"^/(health|v1/forget-requests(/[^/]+(/report|/report\.md)?)?)/?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex KnownPath();

    public static void Map(WebApplication app)
    {
        app.MapPost(ForgetRoutes.Requests, SubmitAsync);
        app.MapGet(ForgetRoutes.Requests, List);
        app.MapGet(ForgetRoutes.Requests + "/{id}", Get);
        app.MapGet(ForgetRoutes.Requests + "/{id}/report", Report);
        app.MapGet(ForgetRoutes.Requests + "/{id}/report.md", ReportMarkdown);
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, SubmissionReader reader, ForgetRequestStore store, ForgetOptions options, WorkSignal signal)
    {
        var submission = reader.Read(await StrictJsonBody.ReadObjectAsync(context.Request, context.RequestAborted));
        var id = RequestFiles.NewId();
        var files = new RequestFiles(options.DataDirectory, id);
        Directory.CreateDirectory(files.Directory);
        var stored = store.Insert(new RequestRecord
        {
            Id = id,
            Deployment = submission.Deployment,
            Method = submission.Method,
            SubmittedBy = submission.SubmittedBy,
            Forget = DataSetReader.Save(submission.Forget, files.Forget),
            Retain = submission.Retain is { } retain ? DataSetReader.Save(retain, files.Retain) : null,
        });
        signal.Notify();
        return Results.Json(stored.ToView(store.Transitions(id)), JsonBody.Options, statusCode: StatusCodes.Status202Accepted)
            .WithLocation(ForgetRoutes.Request(id));
    }

    private static IResult List(ForgetRequestStore store) =>
        Results.Json(new ForgetRequestList(store.All().Select(r => r.ToView(store.Transitions(r.Id))).ToList()), JsonBody.Options);

    private static IResult Get(string id, ForgetRequestStore store)
    {
        var request = Find(id, store);
        return Results.Json(request.ToView(store.Transitions(request.Id)), JsonBody.Options);
    }

    private static IResult Report(string id, ForgetRequestStore store, ForgetOptions options) =>
        Results.File(AuditFile(id, store, options, f => f.AuditJson), "application/json");

    private static IResult ReportMarkdown(string id, ForgetRequestStore store, ForgetOptions options) =>
        Results.File(AuditFile(id, store, options, f => f.AuditMarkdown), "text/markdown; charset=utf-8");

    private static string AuditFile(string id, ForgetRequestStore store, ForgetOptions options, Func<RequestFiles, string> which)
    {
        var path = which(new RequestFiles(options.DataDirectory, Find(id, store).Id));
        return File.Exists(path) ? path : throw new OpenAiException(404, $"The audit record of '{id}' is not written yet.", "invalid_request_error", "id", "report_not_found");
    }

    private static RequestRecord Find(string id, ForgetRequestStore store) =>
        (RequestFiles.IsId(id) ? store.Find(id) : null) ?? throw new OpenAiException(404, $"No forget request '{id}'.", "invalid_request_error", "id", "request_not_found");

    private static IResult WithLocation(this IResult result, string location) => new LocatedResult(result, location);

    private sealed class LocatedResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.Headers.Location = location;
            return inner.ExecuteAsync(context);
        }
    }
}
