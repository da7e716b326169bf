using System.Collections.Concurrent;

namespace ActorEvents.Host.Domain.Notifications;

/// <summary>An e-mail the sample domain "sent".</summary>
/// <param name="To">Recipient.</param>
/// <param name="Subject">Subject line.</param>
/// <param name="CorrelationId">Correlation id of the request that caused it.</param>
public sealed record SentEmail(string To, string Subject, string CorrelationId);

/// <summary>Sends e-mails. The sample's implementation records them in memory with a simulated 1 ms of I/O.</summary>
public interface IEmailSender
{
    /// <summary>Sends one e-mail.</summary>
    Task SendAsync(SentEmail email, CancellationToken cancellationToken);
}

/// <summary>In-memory e-mail outbox of the sample domain.</summary>
public sealed class InMemoryEmailOutbox : IEmailSender
{
    private readonly ConcurrentQueue<SentEmail> _sent = new();

    /// <summary>E-mails sent so far.</summary>
    public IReadOnlyCollection<SentEmail> Sent => _sent;

    /// <inheritdoc />
    public async Task SendAsync(SentEmail email, CancellationToken cancellationToken)
    {
        await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        _sent.Enqueue(email);
    }
}

/// <summary>Audit trail of the sample domain (in memory).</summary>
public sealed class AuditTrail
{
    private readonly ConcurrentQueue<string> _entries = new();

    /// <summary>Entries so far.</summary>
    public IReadOnlyCollection<string> Entries => _entries;

    /// <summary>Adds an entry.</summary>
    public void Record(string entry) => _entries.Enqueue(entry);
}
