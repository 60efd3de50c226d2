using Uld.Inference;
using Uld.Tests.Support;

namespace Uld.Tests.Inference;

/// <summary>Prefill can take only each row's last logits out of ONNX Runtime; they equal the full run's last rows.</summary>
[Collection(TorchSharpCollection.Name)]
public sealed class LogitPositionsTests(Stories260KFixture fixture)
{
    [Fact]
    public void Last_position_logits_equal_the_last_rows_of_all_positions()
    {
        using var model = new OnnxCausalLm(fixture.Model.OnnxPath);
        long[] ids = [1, 403, 407, 261, 0, 1, 500, 9], mask = [1, 1, 1, 1, 0, 1, 1, 1], positions = [0, 1, 2, 3, 1, 0, 1, 2];
        using var empty = model.EmptyCache(2);
        var all = model.Run(ids, mask, positions, 2, empty, LogitPositions.All);
        var last = model.Run(ids, mask, positions, 2, empty, LogitPositions.Last);
        all.Present.Dispose();
        last.Present.Dispose();

        Assert.Equal(4, all.Positions);
        Assert.Equal(1, last.Positions);
        Assert.Equal(2 * model.Vocab, last.Logits.Length);
        for (var row = 0; row < 2; row++) Assert.Equal(all.Row(row, 3).ToArray(), last.Row(row, 3).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => last.Row(0, 2).ToArray());
        Assert.True(last.UldRow(0, 3).IsEmpty);
    }
}
