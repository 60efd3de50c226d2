using Uld.Inference.Sampling;
using Uld.Trainer.Unlearning;
using static Uld.Trainer.Unlearning.AlphaCalibration;

namespace Uld.Tests.Trainer.Unlearning;

/// <summary>The calibration rule: the smallest α at which forget answers are no more likely than unseen text, interpolated.</summary>
public sealed class AlphaCalibrationTests
{
    [Fact]
    public void Alpha_is_where_the_forget_likelihood_crosses_the_unseen_texts()
    {
        // Forget log-likelihood −0.2, −1.0, −2.6 at α 0, 1, 2; unseen text −2.0 throughout: the gap +1.8, +1.0, −0.6
        // crosses 0 at 1 + 1.0 / 1.6 = 1.625.
        var curve = new[] { new Point(0, -0.2, -2.0, 0.9), new Point(1, -1.0, -2.0, 0.8), new Point(2, -2.6, -2.0, 0.3) };
        var result = Choose(curve, UldRule.SuppressOnly, 0);
        Assert.Equal((1.625, true, -2.0), (result.Alpha, result.Reached, result.HoldoutLogLikelihood));
        var other = Choose([new Point(0, -0.2, -1.0, 0.9), new Point(1, -1.2, -1.0, 0.4)], UldRule.SuppressOnly, 0);
        Assert.Equal(0.8, other.Alpha, 12);
        var json = AlphaCalibrationResult.ToJson(new Dictionary<CalibrationReference, AlphaCalibrationResult>
        {
            [CalibrationReference.Unseen] = result, [CalibrationReference.OtherAnswers] = other,
        }, CalibrationReference.OtherAnswers);
        Assert.Equal(("SuppressOnly", "other-answers"), (json["rule"]!.GetValue<string>(), json["reference"]!.GetValue<string>()));
        Assert.Equal((0.8, 1.625, 0.8), (json["recommended_alpha"]!.GetValue<double>(), json["alpha_unseen"]!.GetValue<double>(), json["alpha_other_answers"]!.GetValue<double>()));
        Assert.Equal(3, json["curves"]!["unseen"]!.AsArray().Count);
    }

    [Fact]
    public void Forget_text_already_below_unseen_text_needs_no_alpha_and_an_unreached_level_says_so()
    {
        Assert.Equal(0, Choose([new Point(0, -3, -2, 0.2), new Point(1, -4, -2, 0.1)], UldRule.Difference, 0.1).Alpha);
        var never = Choose([new Point(0, -0.1, -2, 1), new Point(4, -1, -2, 0.9)], UldRule.SuppressOnly, 0);
        Assert.Equal((4, false), (never.Alpha, never.Reached));
    }
}
