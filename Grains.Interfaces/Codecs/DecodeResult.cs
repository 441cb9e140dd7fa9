using System.Diagnostics.CodeAnalysis;

namespace Hearth.Grains.Interfaces.Codecs;

/// <summary>Either a decoded value or the reason it could not be decoded.</summary>
public readonly struct DecodeResult<T> where T : class
{
    private DecodeResult(T? value, string? error)
    {
        Value = value;
        Error = error;
    }

    /// <summary>The decoded value when <see cref="IsSuccess"/>.</summary>
    public T? Value { get; }

    /// <summary>Why decoding failed, in words an operator can act on, when not <see cref="IsSuccess"/>.</summary>
    public string? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Value is not null;

    public static DecodeResult<T> Success(T value) => new(value, null);

    public static DecodeResult<T> Failure(string error) => new(null, error);
}
