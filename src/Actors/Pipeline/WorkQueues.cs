namespace ActorEvents.Actors.Pipeline;

/// <summary>The pool's queue of items waiting for a worker.</summary>
internal interface IWorkQueue
{
    int Count { get; }

    void Enqueue(WorkItem item, bool urgent);

    bool TryDequeue(out WorkItem item);

    /// <summary>The item is finished (successfully, dead-lettered or parked): its key may run again.</summary>
    void Completed(WorkItem item);

    /// <summary>Removes and returns the items waiting under a key, in order.</summary>
    IReadOnlyList<WorkItem> TakePending(OrderingKey key);
}

/// <summary>One global queue: emission order (sequential mode) or no ordering at all.</summary>
internal sealed class FifoWorkQueue : IWorkQueue
{
    private readonly LinkedList<WorkItem> _items = new();

    public int Count => _items.Count;

    public void Enqueue(WorkItem item, bool urgent)
    {
        if (urgent)
        {
            _items.AddFirst(item);
        }
        else
        {
            _items.AddLast(item);
        }
    }

    public bool TryDequeue(out WorkItem item)
    {
        if (_items.First is { } first)
        {
            _items.RemoveFirst();
            item = first.Value;
            return true;
        }

        item = null!;
        return false;
    }

    public void Completed(WorkItem item)
    {
    }

    public IReadOnlyList<WorkItem> TakePending(OrderingKey key) => [];
}

/// <summary>
/// Per-key queues: at most one item per (handler, aggregate) runs at a time and items of one key leave in
/// the order they came, while keys take turns in the order they became ready. O(1) per operation.
/// </summary>
internal sealed class KeyedWorkQueue : IWorkQueue
{
    private readonly Dictionary<OrderingKey, Queue<WorkItem>> _pending = new();
    private readonly HashSet<OrderingKey> _running = new();
    private readonly LinkedList<OrderingKey> _ready = new();

    public int Count { get; private set; }

    public void Enqueue(WorkItem item, bool urgent)
    {
        var key = item.Key;
        if (!_pending.TryGetValue(key, out var queue))
        {
            queue = new Queue<WorkItem>();
            _pending[key] = queue;
        }

        queue.Enqueue(item);
        Count++;
        if (queue.Count == 1 && !_running.Contains(key))
        {
            if (urgent)
            {
                _ready.AddFirst(key);
            }
            else
            {
                _ready.AddLast(key);
            }
        }
    }

    public bool TryDequeue(out WorkItem item)
    {
        if (_ready.First is not { } first)
        {
            item = null!;
            return false;
        }

        _ready.RemoveFirst();
        var key = first.Value;
        var queue = _pending[key];
        item = queue.Dequeue();
        if (queue.Count == 0)
        {
            _pending.Remove(key);
        }

        _running.Add(key);
        Count--;
        return true;
    }

    public void Completed(WorkItem item)
    {
        var key = item.Key;
        if (_running.Remove(key) && _pending.ContainsKey(key))
        {
            _ready.AddLast(key);
        }
    }

    public IReadOnlyList<WorkItem> TakePending(OrderingKey key)
    {
        if (!_pending.Remove(key, out var queue))
        {
            return [];
        }

        _ready.Remove(key);
        Count -= queue.Count;
        return queue.ToArray();
    }
}
