namespace ActorEvents.Tests.Pipeline;

/// <summary>A streaming request's results reach the caller one step at a time, each after its step's events were handled.</summary>
public sealed class StreamingStepTests
{
    [Fact]
    public async Task Should_stream_results_step_by_step_after_each_steps_events_were_handled()
    {
        var (host, probe) = await PipelineHost.StartAsync(d => d
            .AddHandler<RecordingHandler>()
            .AddStreamingHandler<EmitSteps, int, EmitStepsHandler>());
        await using var _ = host;

        var handledWhenYielded = new List<int>();
        await foreach (var handled in host.Client.StreamAsync(new EmitSteps("steps", 4)))
        {
            handledWhenYielded.Add(handled);
        }

        // At each result, exactly the events of the steps so far had been handled.
        Assert.Equal([1, 2, 3, 4], handledWhenYielded);
    }
}
