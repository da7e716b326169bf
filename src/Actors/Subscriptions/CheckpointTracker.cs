namespace ActorEvents.Actors.Subscriptions;

/// <summary>
/// Where a subscription is: the position it has handled up to, the checkpoint stored for it, and when the stored one is
/// due to move. A sink that stores the checkpoint with each batch (a projection) moves both at once; otherwise the
/// checkpoint is written every <c>checkpointEvery</c> events, when idle and on hand-over.
/// </summary>
internal sealed class CheckpointTracker(int checkpointEvery)
{
    /// <summary>Everything up to here is handled (dead-lettered and parked events included).</summary>
    public long Position { get; private set; }

    /// <summary>The stored checkpoint.</summary>
    public long Stored { get; private set; }

    /// <summary>Events handled since the stored checkpoint.</summary>
    public int SinceStored { get; private set; }

    /// <summary>Events handled by this instance.</summary>
    public long Processed { get; private set; }

    /// <summary>Whether the position is ahead of the stored checkpoint.</summary>
    public bool HasUnstored => Position != Stored;

    /// <summary>Whether enough events were handled to write the checkpoint now.</summary>
    public bool WriteDue => HasUnstored && SinceStored >= checkpointEvery;

    /// <summary>Starts from a stored (or just moved) checkpoint.</summary>
    public void StartAt(long checkpoint)
    {
        Position = Stored = checkpoint;
        SinceStored = 0;
    }

    /// <summary>A batch of <paramref name="events"/> events up to <paramref name="position"/> is handled; <paramref name="stored"/>: its sink stored the checkpoint with it.</summary>
    public void Handled(long position, int events, bool stored)
    {
        Position = Math.Max(Position, position);
        Processed += events;
        if (stored)
        {
            Stored = Position;
            SinceStored = 0;
        }
        else
        {
            SinceStored += events;
        }
    }

    /// <summary>The checkpoint was written at <paramref name="position"/>.</summary>
    public void Wrote(long position)
    {
        Stored = position;
        if (position == Position)
        {
            SinceStored = 0;
        }
    }
}
