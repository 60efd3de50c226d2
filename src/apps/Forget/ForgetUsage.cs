using Uld.Web;

namespace Uld.Forget;

/// <summary><c>uld-forget --help</c>: what the service is, its options and where its settings are documented.</summary>
public static class ForgetUsage
{
    public static readonly ServerUsage Help = new(
        "uld-forget",
        "uld-forget: forget requests as a service. Takes deletion requests over HTTP, trains a ULD assistant for each (uld-trainer), gates it on corpus metrics (uld-eval) and deploys it to every LogitServer replica through their admin API.",
        [],
        [
            ("Forget", "Admin keys, data directory and allowed data roots, the LogitServer replicas and their admin key, per-deployment training and gate settings: docs/FORGET-REQUESTS.md, *Configuration*"),
            ("Logging", "Log levels (ASP.NET Core's Logging section)"),
        ]);
}
