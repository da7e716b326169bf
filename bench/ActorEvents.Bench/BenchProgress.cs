namespace ActorEvents.Bench;

/// <summary>Receives live progress of a bench run (the CLI draws it; tests pass nothing).</summary>
public interface IBenchProgress
{
    /// <summary>A measured run starts.</summary>
    /// <param name="label">Unique label of the run, e.g. <c>round 2 · baseline</c>.</param>
    void RunStarted(string label);

    /// <summary>Progress of a run.</summary>
    /// <param name="label">The run's label.</param>
    /// <param name="phase">What it is doing (<c>starting host</c>, <c>warm-up</c>, <c>measuring</c> …).</param>
    /// <param name="fraction">0–1 of the current phase.</param>
    /// <param name="detail">Short live figures.</param>
    void RunProgress(string label, string phase, double fraction, string detail);

    /// <summary>A run finished (result null when it produced none, e.g. skipped).</summary>
    /// <param name="label">The run's label.</param>
    /// <param name="result">Its figures.</param>
    void RunFinished(string label, BenchResult? result);

    /// <summary>A note worth showing (e.g. why a run was skipped).</summary>
    /// <param name="message">The note.</param>
    void Log(string message);
}

/// <summary>Progress sink that shows nothing.</summary>
public sealed class NullBenchProgress : IBenchProgress
{
    /// <summary>The single instance.</summary>
    public static NullBenchProgress Instance { get; } = new();

    /// <inheritdoc />
    public void RunStarted(string label)
    {
    }

    /// <inheritdoc />
    public void RunProgress(string label, string phase, double fraction, string detail)
    {
    }

    /// <inheritdoc />
    public void RunFinished(string label, BenchResult? result)
    {
    }

    /// <inheritdoc />
    public void Log(string message)
    {
    }
}

/// <summary>One run's view of the progress sink.</summary>
internal sealed class BenchProgressScope(IBenchProgress sink, string label)
{
    private string _phase = "starting";

    public string Label => label;

    public void Phase(string phase)
    {
        _phase = phase;
        sink.RunProgress(label, phase, 0, string.Empty);
    }

    public void Report(double fraction, long done, long errors, TimeSpan elapsed)
    {
        var rate = done / Math.Max(elapsed.TotalSeconds, 1e-3);
        var detail = errors == 0 ? $"{done:N0} cmds · {rate:N0}/s" : $"{done:N0} cmds · {rate:N0}/s · {errors:N0} errors";
        sink.RunProgress(label, _phase, fraction, detail);
    }

    public void Detail(double fraction, string detail) => sink.RunProgress(label, _phase, fraction, detail);
}
