using TorchSharp.Modules;
using Uld.Contracts.Models;
using static TorchSharp.torch;

namespace Uld.Trainer.Model;

/// <summary>
/// A Llama-family decoder built from config.json. Module names follow Hugging Face
/// (model.embed_tokens, model.layers.N.self_attn.q_proj, …, lm_head), so state_dict keys are safetensors names.
/// The forward pass follows the ONNX graph's operation order, which keeps the two within float rounding.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module
{
    public LlamaConfig Config { get; }

    private readonly Embedding _embed;
    private readonly LlamaDecoderLayer[] _layers;
    private readonly RmsNorm _norm;
    private readonly LlamaLinear? _lmHead;
    private readonly float[] _inverseFrequencies;

    public LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Config = config;
        _embed = nn.Embedding(config.VocabSize, config.HiddenSize);
        _layers = Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new LlamaDecoderLayer(config)).ToArray();
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        _inverseFrequencies = RotaryEmbedding.InverseFrequencies(config);

        var body = new LlamaBody(_embed, _layers, _norm);
        register_module("model", body);
        if (!config.TieWordEmbeddings)
        {
            _lmHead = new LlamaLinear(config.HiddenSize, config.VocabSize);
            register_module("lm_head", _lmHead);
        }
    }

    /// <summary>The untied output head, or null when the head is the embedding.</summary>
    public LlamaLinear? LmHead => _lmHead;

    /// <summary>
    /// The output projection's weight [vocab, hidden] (lm_head, or the embedding when tied): logits = hidden·Wᵀ. For
    /// losses that apply the head to a few positions at a time (<see cref="Training.VocabularyHead"/>), so a LoRA
    /// adapter on the head, which that product would skip, is refused.
    /// </summary>
    public Tensor OutputWeight => _lmHead is { HasLora: true }
        ? throw new InvalidOperationException("the output head has a LoRA adapter; apply it with Forward.")
        : _lmHead?.Weight ?? _embed.weight!;

    /// <summary>
    /// The final-norm hidden states [batch, seq, hidden] of a pass without cache: what the head turns into logits, for
    /// a loss that never holds the [batch, seq, vocab] logits at once.
    /// </summary>
    public Tensor Hidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds) =>
        Run(inputIds, attentionMask, positionIds, null, captureAfter: 0, head: false).Logits;

    /// <summary>
    /// One pass over <paramref name="inputIds"/> [batch, seq] given an optional cache of earlier tokens.
    /// <paramref name="attentionMask"/> is [batch, past + seq] (1 = real token, 0 = padding);
    /// <paramref name="positionIds"/> is [batch, seq]. Returns logits [batch, seq, vocab] and the extended cache.
    /// </summary>
    public (Tensor Logits, LayerCache[] Present) Forward(Tensor inputIds, Tensor attentionMask, Tensor positionIds,
        IReadOnlyList<LayerCache>? past = null)
    {
        var (logits, present, _) = Run(inputIds, attentionMask, positionIds, past, captureAfter: 0, head: true);
        return (logits, present);
    }

    /// <summary>
    /// The full-sequence logits and the residual stream after the first <paramref name="layers"/> decoder layers,
    /// [batch, seq, hidden]: the representation RMU steers.
    /// </summary>
    public (Tensor Logits, Tensor Hidden) ForwardWithHidden(Tensor inputIds, Tensor attentionMask, Tensor positionIds, int layers)
    {
        if (layers < 1 || layers > _layers.Length) throw new ArgumentOutOfRangeException(nameof(layers), $"the model has decoder layers 1..{_layers.Length}.");
        var (logits, _, hidden) = Run(inputIds, attentionMask, positionIds, null, captureAfter: layers, head: true);
        return (logits, hidden!);
    }

    /// <param name="captureAfter">return the hidden state after this many layers as well (0: none)</param>
    /// <param name="head">apply the output head; false returns the final-norm hidden states in its place</param>
    private (Tensor Logits, LayerCache[] Present, Tensor? Hidden) Run(Tensor inputIds, Tensor attentionMask, Tensor positionIds,
        IReadOnlyList<LayerCache>? past, int captureAfter, bool head)
    {
        using var scope = NewDisposeScope();
        var seq = inputIds.shape[1];
        var pastLength = past is { Count: > 0 } ? past[0].Key.shape[2] : 0;
        var mask = AttentionMask(attentionMask, pastLength, seq);
        var (cos, sin) = RotaryEmbedding.CosSin(positionIds, _inverseFrequencies);

        var x = _embed.forward(inputIds);
        var present = new LayerCache[_layers.Length];
        Tensor? hidden = null;
        for (var i = 0; i < _layers.Length; i++)
        {
            (x, present[i]) = _layers[i].Forward(x, cos, sin, mask, past?[i]);
            if (i + 1 == captureAfter) hidden = x;
        }
        x = _norm.forward(x);
        var logits = !head ? x : _lmHead is null ? x.matmul(_embed.weight!.t()) : _lmHead.forward(x);

        foreach (var p in present)
        {
            p.Key.MoveToOuterDisposeScope();
            p.Value.MoveToOuterDisposeScope();
        }
        return (logits.MoveToOuterDisposeScope(), present, hidden?.MoveToOuterDisposeScope());
    }

    /// <summary>Full-sequence logits with no cache, positions 0..seq-1 and no padding.</summary>
    public Tensor Logits(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var (batch, seq) = (inputIds.shape[0], inputIds.shape[1]);
        var mask = ones(batch, seq, dtype: ScalarType.Int64, device: inputIds.device);
        var positions = arange(seq, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(batch, seq);
        return Forward(inputIds, mask, positions).Logits.MoveToOuterDisposeScope();
    }

    /// <summary>bool [batch, 1, seq, past + seq]: causal (query i sits at absolute position past + i) and not padding.</summary>
    public static Tensor AttentionMask(Tensor attentionMask, long pastLength, long seq)
    {
        var total = pastLength + seq;
        var device = attentionMask.device;
        var keyPositions = arange(total, dtype: ScalarType.Int64, device: device).view(1, total);
        var queryPositions = arange(pastLength, total, dtype: ScalarType.Int64, device: device).view(seq, 1);
        var causal = keyPositions.le(queryPositions).view(1, 1, seq, total);
        var notPadding = attentionMask.to(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, total);
        return causal.logical_and(notPadding);
    }

    /// <summary>Holds the "model." prefix of the Hugging Face names: embed_tokens, layers.N, norm.</summary>
    private sealed class LlamaBody : nn.Module
    {
        public LlamaBody(Embedding embed, LlamaDecoderLayer[] layers, RmsNorm norm) : base("model")
        {
            register_module("embed_tokens", embed);
            register_module("layers", nn.ModuleList(layers));
            register_module("norm", norm);
        }
    }
}
