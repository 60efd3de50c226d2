namespace Uld.Trainer.Onnx;

/// <summary>Copies nodes, initializers and declared I/O from one graph into another under a renaming of values.</summary>
public static class OnnxGraphImport
{
    /// <summary>
    /// Appends <paramref name="source"/>'s nodes (except <paramref name="skipNodesProducing"/>) and initializers
    /// (except those <paramref name="rename"/> maps onto an existing initializer of <paramref name="target"/>),
    /// renamed, to <paramref name="target"/>.
    /// </summary>
    public static void Nodes(OnnxGraph target, OnnxGraph source, Func<string, string> rename, ISet<string>? skipNodesProducing = null)
    {
        var existing = target.Initializers.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var init in source.Initializers)
        {
            var name = rename(init.Name);
            if (!existing.Contains(name)) target.Initializers.Add(init with { Name = name });
        }
        foreach (var node in source.Nodes)
        {
            if (skipNodesProducing is not null && node.Outputs.Any(skipNodesProducing.Contains)) continue;
            target.Nodes.Add(node with
            {
                Name = rename(node.Name),
                Inputs = node.Inputs.Select(rename).ToArray(),
                Outputs = node.Outputs.Select(rename).ToArray(),
            });
        }
    }

    public static OnnxValueInfo Renamed(OnnxValueInfo info, Func<string, string> rename) => info with { Name = rename(info.Name) };
}
