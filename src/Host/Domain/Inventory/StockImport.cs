using ActorEvents.Actors.Pipeline;
using ActorEvents.Messages;

namespace ActorEvents.Host.Domain.Inventory;

/// <summary>A bulk import of stock: one line per SKU, processed step by step.</summary>
/// <param name="Lines">SKU and quantity to add, in order.</param>
public sealed record ImportStock(IReadOnlyList<StockLine> Lines) : IStreamingRequest<StockLineImported>;

/// <summary>One line of a stock import.</summary>
/// <param name="Sku">SKU.</param>
/// <param name="Quantity">Units to add.</param>
public sealed record StockLine(string Sku, int Quantity);

/// <summary>Result of one imported line.</summary>
/// <param name="Line">1-based line number.</param>
/// <param name="Sku">SKU.</param>
/// <param name="Accepted">Whether the stock was added.</param>
/// <param name="OnHand">Units on hand afterwards (when accepted).</param>
/// <param name="Error">Why it was refused (when not accepted).</param>
public sealed record StockLineImported(int Line, string Sku, bool Accepted, int? OnHand, string? Error);

/// <summary>Imports stock line by line; each line's events are handled before its result is yielded.</summary>
public sealed class StockImportHandler : IStreamingRequestHandler<ImportStock, StockLineImported>
{
    /// <inheritdoc />
    public async IAsyncEnumerable<StockLineImported> HandleAsync(ImportStock request, StreamingContext context)
    {
        for (var i = 0; i < request.Lines.Count; i++)
        {
            var line = request.Lines[i];
            var result = await context.SendAsync(new AddStock(line.Sku, line.Quantity));
            yield return result switch
            {
                CommandAccepted accepted => new StockLineImported(i + 1, line.Sku, true,
                    accepted.Events.Select(e => e.Event).OfType<StockAdded>().LastOrDefault()?.OnHand, null),
                CommandRejected rejected => new StockLineImported(i + 1, line.Sku, false, null, $"{rejected.Code}: {rejected.Message}"),
                _ => new StockLineImported(i + 1, line.Sku, false, null, "unexpected result"),
            };
        }
    }
}
