using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Hearth.Grains.Interfaces.Codecs;

/// <summary>
/// The JSON wire formats of readings, settings and heater commands (UTF-8; the Kafka key is the thermostat id).
/// </summary>
/// <remarks>
/// Accepted input, in one topic or two:
/// <list type="bullet">
/// <item>reading <c>{"thermostatId":"t-17","measurement":21.4,"timestamp":"2026-..."}</c>; id and timestamp optional;</item>
/// <item>setting <c>{"thermostatId":"t-17","temperature":21.0,"upDelta":0.5,"downDelta":0.5}</c>; id optional;</item>
/// <item>the snake_case deltas <c>up_delta</c>/<c>down_delta</c> of the original Python producers.</item>
/// </list>
/// A message is a reading if it has <c>measurement</c> and a setting if it has <c>temperature</c>.
/// Anything else (no key, bad JSON, wrong types, non-finite numbers, negative deltas, an id that differs
/// from the key) is rejected with a reason.
/// </remarks>
public static class ThermostatJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Decodes a reading or a setting.</summary>
    /// <param name="key">The Kafka message key: the thermostat id, UTF-8.</param>
    /// <param name="value">The Kafka message value.</param>
    /// <param name="fallbackTimestamp">Used for a reading without a <c>timestamp</c> field (the Kafka message timestamp).</param>
    public static DecodeResult<ThermostatMessage> DecodeInput(
        ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset fallbackTimestamp)
    {
        if (key.IsEmpty)
        {
            return DecodeResult<ThermostatMessage>.Failure("message has no key (the key must be the thermostat id)");
        }

        string id;
        try
        {
            id = StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException)
        {
            return DecodeResult<ThermostatMessage>.Failure("key is not valid UTF-8");
        }

        if (value.IsEmpty)
        {
            return DecodeResult<ThermostatMessage>.Failure("message has no value");
        }

        var fields = default(InputFields);
        try
        {
            var error = ReadInputFields(value, ref fields);
            if (error is not null)
            {
                return DecodeResult<ThermostatMessage>.Failure(error);
            }
        }
        catch (JsonException e)
        {
            return DecodeResult<ThermostatMessage>.Failure("invalid JSON: " + e.Message);
        }

        if (fields.ThermostatId is not null && fields.ThermostatId != id)
        {
            return DecodeResult<ThermostatMessage>.Failure(
                $"thermostatId '{fields.ThermostatId}' does not match the message key '{id}'");
        }

        return (fields.Measurement, fields.Temperature) switch
        {
            ({ } measurement, null) when fields.UpDelta is null && fields.DownDelta is null =>
                DecodeResult<ThermostatMessage>.Success(
                    new ThermostatReading(id, measurement, fields.Timestamp ?? fallbackTimestamp)),
            ({ }, null) =>
                DecodeResult<ThermostatMessage>.Failure("a reading (it has 'measurement') must not carry deltas"),
            (null, { } temperature) => fields switch
            {
                { UpDelta: null } => DecodeResult<ThermostatMessage>.Failure("setting has no 'upDelta'"),
                { DownDelta: null } => DecodeResult<ThermostatMessage>.Failure("setting has no 'downDelta'"),
                _ when (ThermostatSetting.Problem("temperature", temperature)
                        ?? ThermostatSetting.Problem("upDelta", fields.UpDelta.Value)
                        ?? ThermostatSetting.Problem("downDelta", fields.DownDelta.Value)) is { } outOfRange =>
                    DecodeResult<ThermostatMessage>.Failure($"setting out of range: {outOfRange}"),
                _ => DecodeResult<ThermostatMessage>.Success(
                    new ThermostatSetting(id, temperature, fields.UpDelta.Value, fields.DownDelta.Value)),
            },
            (null, null) => DecodeResult<ThermostatMessage>.Failure(
                "message is neither a reading ('measurement') nor a setting ('temperature')"),
            _ => DecodeResult<ThermostatMessage>.Failure(
                "message has both 'measurement' and 'temperature'; it must be a reading or a setting"),
        };
    }

    /// <summary>Encodes a reading in the canonical format.</summary>
    public static byte[] Encode(ThermostatReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return Write(reading, static (w, r) =>
        {
            w.WriteString("thermostatId"u8, r.ThermostatId);
            w.WriteNumber("measurement"u8, r.Measurement);
            w.WriteString("timestamp"u8, r.Timestamp);
        });
    }

    /// <summary>Encodes a setting in the canonical format.</summary>
    public static byte[] Encode(ThermostatSetting setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        return Write(setting, static (w, s) =>
        {
            w.WriteString("thermostatId"u8, s.ThermostatId);
            w.WriteNumber("temperature"u8, s.Temperature);
            w.WriteNumber("upDelta"u8, s.UpDelta);
            w.WriteNumber("downDelta"u8, s.DownDelta);
        });
    }

    /// <summary>Encodes a heater command.</summary>
    public static byte[] Encode(HeaterCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return Write(command, static (w, c) =>
        {
            w.WriteString("thermostatId"u8, c.ThermostatId);
            w.WriteString("action"u8, c.Action == HeaterAction.On ? "on"u8 : "off"u8);
            w.WriteNumber("measurement"u8, c.Measurement);
            w.WriteNumber("setpoint"u8, c.Setpoint);
            w.WriteNumber("seq"u8, c.Seq);
            w.WriteString("timestamp"u8, c.Timestamp);
        });
    }

    /// <summary>Decodes a heater command (for consumers of the commands topic).</summary>
    public static DecodeResult<HeaterCommand> DecodeCommand(ReadOnlySpan<byte> value)
    {
        try
        {
            using var document = JsonDocument.Parse(value.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return DecodeResult<HeaterCommand>.Failure("a command must be a JSON object");
            }

            var action = root.GetProperty("action").GetString() switch
            {
                "on" => HeaterAction.On,
                "off" => HeaterAction.Off,
                var other => throw new FormatException($"unknown action '{other}'"),
            };
            return DecodeResult<HeaterCommand>.Success(new HeaterCommand(
                root.GetProperty("thermostatId").GetString() ?? throw new FormatException("thermostatId is null"),
                action,
                root.GetProperty("measurement").GetDouble(),
                root.GetProperty("setpoint").GetDouble(),
                root.GetProperty("seq").GetInt64(),
                root.GetProperty("timestamp").GetDateTimeOffset()));
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return DecodeResult<HeaterCommand>.Failure("invalid command: " + e.Message);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private struct InputFields
    {
        public string? ThermostatId;
        public double? Measurement;
        public DateTimeOffset? Timestamp;
        public double? Temperature;
        public double? UpDelta;
        public double? DownDelta;
    }

    private static string? ReadInputFields(ReadOnlySpan<byte> json, ref InputFields fields)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return "message must be a JSON object";
        }

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                // Reading past the end makes the reader reject trailing content.
                return reader.Read() ? "unexpected content after the JSON object" : null;
            }

            // The reader only yields property names here.
            string? error;
            if (reader.ValueTextEquals("measurement"u8))
            {
                error = ReadFiniteNumber(ref reader, "measurement", ref fields.Measurement);
            }
            else if (reader.ValueTextEquals("thermostatId"u8))
            {
                error = ReadString(ref reader, "thermostatId", ref fields.ThermostatId);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                error = ReadTimestamp(ref reader, ref fields.Timestamp);
            }
            else if (reader.ValueTextEquals("temperature"u8))
            {
                error = ReadFiniteNumber(ref reader, "temperature", ref fields.Temperature);
            }
            else if (reader.ValueTextEquals("upDelta"u8) || reader.ValueTextEquals("up_delta"u8))
            {
                error = ReadDelta(ref reader, "upDelta", ref fields.UpDelta);
            }
            else if (reader.ValueTextEquals("downDelta"u8) || reader.ValueTextEquals("down_delta"u8))
            {
                error = ReadDelta(ref reader, "downDelta", ref fields.DownDelta);
            }
            else
            {
                // Unknown fields are ignored so that producers can add their own.
                reader.Read();
                reader.Skip();
                error = null;
            }

            if (error is not null)
            {
                return error;
            }
        }

        return "incomplete JSON object";
    }

    private static string? ReadFiniteNumber(ref Utf8JsonReader reader, string name, ref double? target)
    {
        if (target is not null)
        {
            return $"'{name}' appears more than once";
        }

        reader.Read();
        if (reader.TokenType != JsonTokenType.Number)
        {
            return $"'{name}' must be a number, not {Describe(reader.TokenType)}";
        }

        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            return $"'{name}' must be a finite number";
        }

        target = value;
        return null;
    }

    private static string? ReadDelta(ref Utf8JsonReader reader, string name, ref double? target)
    {
        var error = ReadFiniteNumber(ref reader, name, ref target);
        if (error is null && target < 0)
        {
            return $"'{name}' must not be negative";
        }

        return error;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string name, ref string? target)
    {
        if (target is not null)
        {
            return $"'{name}' appears more than once";
        }

        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            return $"'{name}' must be a string, not {Describe(reader.TokenType)}";
        }

        target = reader.GetString();
        return null;
    }

    private static string? ReadTimestamp(ref Utf8JsonReader reader, ref DateTimeOffset? target)
    {
        if (target is not null)
        {
            return "'timestamp' appears more than once";
        }

        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            return $"'timestamp' must be an ISO 8601 string, not {Describe(reader.TokenType)}";
        }

        if (reader.TryGetDateTimeOffset(out var parsed))
        {
            target = parsed;
            return null;
        }

        // Also accept what DateTimeOffset.Parse understands in the invariant culture (e.g. "2026-11-20 10:00:00Z").
        if (DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out parsed))
        {
            target = parsed;
            return null;
        }

        return "'timestamp' is not an ISO 8601 date and time";
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString(),
    };

    private static byte[] Write<T>(T item, Action<Utf8JsonWriter, T> write)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            write(writer, item);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
