using Google.Protobuf;

namespace Uld.Tokenization.Protobuf;

/// <summary>
/// Builds one protobuf message field by field on top of Google.Protobuf's wire encoder. The project writes two
/// foreign formats (ONNX ModelProto and SentencePiece ModelProto) and needs only their writer side, so a fluent
/// field writer replaces generated code and a protoc build step.
/// </summary>
public sealed class ProtoBuilder
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _output;

    public ProtoBuilder() => _output = new CodedOutputStream(_buffer, leaveOpen: true);

    public static ProtoBuilder Build(Action<ProtoBuilder> write)
    {
        var builder = new ProtoBuilder();
        write(builder);
        return builder;
    }

    public ProtoBuilder String(int field, string value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteString(value);
        return this;
    }

    public ProtoBuilder Bytes(int field, ReadOnlySpan<byte> value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteLength(value.Length);
        // Large payloads (tensor data) go straight to the buffer instead of through a ByteString copy.
        _output.Flush();
        _buffer.Write(value);
        return this;
    }

    public ProtoBuilder Int64(int field, long value)
    {
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteInt64(value);
        return this;
    }

    public ProtoBuilder Int32(int field, int value)
    {
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteInt32(value);
        return this;
    }

    public ProtoBuilder Bool(int field, bool value)
    {
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteBool(value);
        return this;
    }

    public ProtoBuilder Float(int field, float value)
    {
        _output.WriteTag(field, WireFormat.WireType.Fixed32);
        _output.WriteFloat(value);
        return this;
    }

    public ProtoBuilder Message(int field, ProtoBuilder message) => Bytes(field, message.ToArray());

    public ProtoBuilder Message(int field, Action<ProtoBuilder> write) => Message(field, Build(write));

    public byte[] ToArray()
    {
        _output.Flush();
        return _buffer.ToArray();
    }
}
