namespace Uld.Inference.Sampling;

/// <summary>How the assistant's logits enter a ULD deployment's distribution (docs/DESIGN.md, *The ULD decode rule*).</summary>
public enum UldRule
{
    /// <summary>
    /// l_base − α·l_assistant, the rule of the ULD paper. The assistant moves every token: the ones it remembers go
    /// down, and the ones it finds unlikely go <em>up</em> by as much, so at a forgotten fact the next token is
    /// whatever the assistant happened to rank lowest — the answers stop being language.
    /// </summary>
    Difference,

    /// <summary>
    /// log p_base − α·max(0, log p_assistant + log V): the assistant can only push a token down, and only by how much
    /// more likely than uniform it finds it. Where the assistant is near uniform (everything but the forget set, by
    /// its training) nothing changes; at a forgotten fact the remembered tokens go down and the base's own next
    /// choices take their place, so the answer stays a sentence of the base's.
    /// </summary>
    SuppressOnly,
}
