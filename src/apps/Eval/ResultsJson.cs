using Uld.Contracts;
using Uld.Eval.Tofu;

namespace Uld.Eval;

/// <summary>Reads the JSON results uld-eval commands write; a missing, empty or malformed file is the user's error, named.</summary>
public static class ResultsJson
{
    /// <param name="what">what the file should hold, for the message ("an evaluation result")</param>
    public static T Load<T>(string path, string what) where T : class
    {
        if (!File.Exists(path)) throw new UserErrorException($"{path} does not exist.");
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(File.ReadAllText(path), EvaluationRun.JsonOptions)
                ?? throw new UserErrorException($"{path} is empty.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new UserErrorException($"{path} is not {what}: {e.Message}");
        }
    }
}
