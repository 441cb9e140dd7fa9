using Hearth.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Hearth.Grains;

/// <summary>
/// Hosts a <see cref="ThermostatController"/> as an Orleans grain: one activation per thermostat, given its readings
/// and settings by the <see cref="ThermostatDispatcherGrain"/> of their partition, publishing heater commands.
/// </summary>
/// <remarks>
/// <para>Within one call of <see cref="ApplyAsync"/>, in this order: skip inputs already applied (offset not above the one stored for
/// their source partition); apply the rest; write the state if a setting or a command changed it (a command is
/// recorded as unpublished before it is published); publish the unpublished commands and wait until Kafka has them;
/// only then complete the delivery, which lets the partition's checkpoint pass the inputs. A delivery that only refreshed the last measurement is written
/// behind (<see cref="ThermostatGrainOptions.WriteBehindInterval"/>, and on deactivation): losing it in a
/// crash loses no decision, and the next reading refreshes it.</para>
/// <para>Any failure (Kafka, storage, a newer activation's write: <see cref="InconsistentStateException"/>)
/// deactivates the grain without writing, so the retried delivery starts from the stored state. The one
/// exception: a refused write whose state carries on from the stored one (every input the stored state
/// applied, the same commands) is written over it, so measurements applied by an activation that ran beside
/// another after a silo failed are not lost.</para>
/// </remarks>
public sealed partial class ThermostatControllerGrain(
    [PersistentState(ThermostatStorage.StateName, ThermostatStorage.ProviderName)] IPersistentState<ThermostatState> state,
    ThermostatMetrics metrics,
    IOptions<ThermostatGrainOptions> options,
    ILogger<ThermostatControllerGrain> logger)
    : Grain, IThermostatControllerGrain
{
    private ThermostatController _controller = null!;
    private string _silo = "";
    private bool _dirty;
    private bool _broken;
    private bool _applied;

    /// <summary>
    /// The write-behind timer, while one is armed: created when only the last measurement changed, gone once it fired. A
    /// controller with nothing to write holds no timer (a few hundred bytes each, on a silo of many idle controllers).
    /// </summary>
    private IGrainTimer? _writeBehind;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var id = ThermostatKeys.ThermostatId(this.GetPrimaryKeyString());
        state.State.Upgrade();
        _controller = new ThermostatController(id, state.State);
        _silo = RuntimeIdentity;
        metrics.Activated();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.Deactivated();
        for (var attempt = 1; _dirty && !_broken; attempt++)
        {
            try
            {
                await WriteAsync();
            }
            catch (Exception e) when (e is not InconsistentStateException && attempt < 3 && !cancellationToken.IsCancellationRequested)
            {
                // Storage is busy or briefly away (many grains write as a silo shuts down): try again shortly.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
            catch (Exception e)
            {
                // Only the last measurement is lost; every decision was written when it was made.
                LogWriteBehindFailed(logger, _controller.ThermostatId, e);
                break;
            }
        }
    }

    public Task<ThermostatStatus?> GetStatusAsync()
    {
        if (!state.RecordExists && !_applied)
        {
            // Never seen: leave nothing behind (no record is written, the activation goes at once).
            DeactivateOnIdle();
            return Task.FromResult<ThermostatStatus?>(null);
        }

        return Task.FromResult<ThermostatStatus?>(_controller.GetStatus() with { Silo = _silo });
    }

    public async Task ApplyAsync(ThermostatInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        metrics.Delivery(string.Equals(inputs.DeliveredBy, _silo, StringComparison.Ordinal));
        List<HeaterCommand>? commands = null;
        List<DateTimeOffset>? causes = null;
        var decided = false;
        var changed = false;
        foreach (var input in inputs.Items)
        {
            if (!state.State.Advance(input.Position))
            {
                metrics.Duplicate();
                continue;
            }

            _applied = changed = true;
            switch (input.Message)
            {
                case ThermostatReading reading:
                    metrics.Reading();
                    if (_controller.Apply(reading) is { } command)
                    {
                        (commands ??= []).Add(command);
                        (causes ??= []).Add(input.ArrivedAt);
                    }

                    break;
                case ThermostatSetting setting:
                    metrics.Setting();
                    _controller.Apply(setting);
                    decided = true;
                    break;
            }
        }

        if (commands is not null)
        {
            (state.State.Unpublished ??= []).AddRange(commands.Select(RecentCommand.Of));
        }

        if (commands is null && !decided && state.State.Unpublished is null)
        {
            // Only the last measurement changed (or nothing did): written behind.
            if (changed)
            {
                _dirty = true;
                ArmWriteBehind();
            }

            return;
        }

        await Guard(async () =>
        {
            if (commands is not null || decided)
            {
                // Recorded before published: a command Kafka has is always one the stored state knows of.
                await WriteAsync();
            }

            await PublishUnpublishedAsync();
            for (var i = 0; i < (commands?.Count ?? 0); i++)
            {
                metrics.Command(commands![i].Action, causes![i]);
            }
        });
    }

    /// <summary>
    /// Publishes the commands recorded and not known to be in Kafka (this call's, and any an earlier activation or call
    /// recorded but could not publish), in their order, with their <c>seq</c>, and waits until Kafka has them. That they
    /// are published is written behind: a crash before then publishes them again, which consumers drop by <c>seq</c>.
    /// </summary>
    private async Task PublishUnpublishedAsync()
    {
        if (state.State.Unpublished is not { Count: > 0 } unpublished)
        {
            return;
        }

        var id = _controller.ThermostatId;
        await this.GetStreamProvider(ThermostatStreams.Provider)
            .GetStream<HeaterCommand>(StreamId.Create(ThermostatStreams.Commands, id))
            .OnNextBatchAsync(unpublished.Select(c => c.For(id)).ToList());
        state.State.Unpublished = null;
        _dirty = true;
        ArmWriteBehind();
    }

    /// <summary>
    /// Writes the state. Refused because another activation wrote meanwhile (Orleans may briefly run two after a
    /// silo fails), the state is written over the stored one only if it carries on from it
    /// (<see cref="ThermostatState.Extends"/>); otherwise the refusal stands.
    /// </summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            var mine = state.State;
            await state.ReadStateAsync();
            var stored = state.State;
            stored.Upgrade();
            state.State = mine;
            if (!mine.Extends(stored))
            {
                throw;
            }

            LogCarriedOn(logger, _controller.ThermostatId);
            await state.WriteStateAsync();
        }

        _dirty = false;
    }

    /// <summary>
    /// Has the state written <see cref="ThermostatGrainOptions.WriteBehindInterval"/> from now, unless that is
    /// arranged already. A controller with nothing to write keeps no timer running: a silo with many idle
    /// controllers spends nothing on them.
    /// </summary>
    private void ArmWriteBehind() =>
        _writeBehind ??= this.RegisterGrainTimer(WriteBehindAsync, options.Value.WriteBehindInterval, Timeout.InfiniteTimeSpan);

    private async Task WriteBehindAsync(CancellationToken cancellationToken)
    {
        _writeBehind?.Dispose();
        _writeBehind = null;
        if (_dirty && !_broken)
        {
            try
            {
                await Guard(WriteAsync);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Guard dropped the activation; the next input reactivates the controller from its stored state, and its
                // delivery reports a failure that persists. Thrown out of the timer, it would only be logged again by
                // Orleans, once per controller.
            }
        }
    }

    /// <summary>Runs <paramref name="work"/>; on failure the activation is dropped unwritten and the error rethrown.</summary>
    private async Task Guard(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception e)
        {
            _broken = true;
            if (e is InconsistentStateException)
            {
                LogStale(logger, _controller.ThermostatId);
            }
            else
            {
                LogFailed(logger, _controller.ThermostatId, e);
            }

            DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thermostat {ThermostatId}: another activation wrote its state meanwhile; this one had applied everything it had, so its state replaces the stored one")]
    private static partial void LogCarriedOn(ILogger logger, string thermostatId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thermostat {ThermostatId}: another activation wrote its state meanwhile; this one stops and the input is delivered again")]
    private static partial void LogStale(ILogger logger, string thermostatId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thermostat {ThermostatId}: publishing commands or writing the state failed; the activation stops and the input is delivered again")]
    private static partial void LogFailed(ILogger logger, string thermostatId, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Thermostat {ThermostatId}: writing the last measurement on deactivation failed; it is refreshed by the next reading")]
    private static partial void LogWriteBehindFailed(ILogger logger, string thermostatId, Exception exception);
}
