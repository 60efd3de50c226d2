using System.Text.Json;
using System.Text.Json.Nodes;
using Uld.Contracts.OpenAi;
using Uld.Inference;
using Uld.Inference.Sampling;
using Uld.LogitServer.Deployments;
using Uld.LogitServer.Deployments.Kinds;
using Uld.LogitServer.Engine;
using Uld.Web;

namespace Uld.Tests.LogitServer.Deployments.Kinds;

/// <summary>What the per-kind contract tests share: fixed logits as decoder steps, a request's controls, a published card as JSON.</summary>
internal static class KindContract
{
    /// <summary>A base distribution over six tokens with a clear leader, so that a relative-top filter of 0.1 masks some.</summary>
    public static readonly float[] Base = [4.0f, 3.2f, 1.5f, -0.5f, 2.8f, 0.1f];
    /// <summary>An assistant that remembers tokens 0 and 4 (the "forgotten" answers) and finds the others unlikely.</summary>
    public static readonly float[] Assistant = [3.5f, -1.0f, 0.2f, -2.0f, 2.9f, -0.4f];
    public static readonly float[] OtherAssistant = [-0.3f, 2.2f, -1.1f, 0.4f, 1.0f, -2.5f];

    /// <summary>One row, one position of logits, as a session step hands them to a kind.</summary>
    public static DecoderStep Step(float[] logits, float[]? uldLogits = null) =>
        new(logits, uldLogits, 1, 1, logits.Length, KvCache.Empty(0, 1, 1, 1));

    public static SamplingParameters Parameters(double alpha = 0, double relativeTop = 0, double beta = 0) =>
        new(SamplingSettings.Greedy, alpha, relativeTop, 0, beta);

    public static float[] Combine(DeploymentKind kind, DeploymentOptions served, SamplingParameters parameters, float[] baseLogits, params float[][] companions)
    {
        var logits = new float[baseLogits.Length];
        kind.Combine(served, Step(baseLogits), companions.Select(c => Step(c)).ToList(), 0, 0, parameters, logits);
        return logits;
    }

    public static ChatCompletionRequest Request(double? alpha = null, double? relativeTop = null, double? beta = null) =>
        new() { Model = "m", UldAlpha = alpha, UldRelativeTop = relativeTop, UldOffsetBeta = beta };

    /// <summary>The 400 a refused control is, as the client sees it.</summary>
    public static OpenAiException Refused(DeploymentKind kind, DeploymentOptions served, ChatCompletionRequest request)
    {
        var error = Assert.Throws<OpenAiException>(() => kind.Admit(served, request));
        Assert.Equal(400, error.Status);
        return error;
    }

    /// <summary>The card as /v1/models writes it.</summary>
    public static JsonObject Card(DeploymentKind kind, DeploymentOptions served) =>
        JsonSerializer.SerializeToNode(kind.Publish(served, new ModelCard(served.Name, "model", 1, "uldserver", null)), JsonBody.Options)!.AsObject();

    /// <summary>What the start-up checks say of one deployment (null: accepted).</summary>
    public static string? Problem(DeploymentOptions d) => LogitServerOptionsValidator.DeploymentProblem(d);

    public static void AssertClose(float[] expected, float[] actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (float.IsNegativeInfinity(expected[i])) Assert.True(float.IsNegativeInfinity(actual[i]), $"token {i}: expected masked, got {actual[i]}");
            else Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"token {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>log_softmax of <paramref name="logits"/>, in double precision: what the relative-top filter reads.</summary>
    public static double[] LogSoftmax(float[] logits)
    {
        var max = logits.Max();
        var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        return logits.Select(l => l - logSum).ToArray();
    }
}
