using System.Text.RegularExpressions;
using ActorEvents.Host.Domain.Orders;
using ActorEvents.Tests.Broker;

namespace ActorEvents.Host.Tests.Broker;

/// <summary>
/// The host program's demo with a broker configured, run as a process on a SQLite file and the real RabbitMQ: the
/// sample publishes every order.shipped as a notification, its shipping-notice subscriber consumes each one and sends
/// RecordShippingNotice back, and the summary prints the counts. Counted from the journal and the database afterwards.
/// </summary>
public sealed partial class SampleBrokerDemoTests
{
    [RabbitMqFact]
    public async Task Should_publish_every_shipment_and_record_one_shipping_notice_per_shipment_when_the_demo_runs_with_a_broker()
    {
        // The framework's broker fault tests (another test assembly, running beside this one) stop the broker only while no
        // one holds the lock file shared.
        await using var broker = await BrokerLockFile.OpenAsync(exclusive: false);
        using var database = ProcessDatabase.Sqlite();
        var queue = TestBroker.UniqueName("demo-shipping-notices");
        try
        {
            var (exitCode, output) = await HostProcess.RunAsync(database, TimeSpan.FromMinutes(4), "--commands", "600",
                $"--ActorEvents:Broker:Uri={TestBroker.RequiredUri}", $"--ActorEvents:Broker:Exchange={TestBroker.UniqueName("demo")}",
                $"--Sample:Shipping:Queue={queue}");
            Assert.True(exitCode == 0, output);

            var journal = JournalAudit.ReadJournal(database);
            var shipped = journal.Where(e => e.Event is OrderShipped).Select(e => e.AggregateId).ToArray();
            var notices = journal.Where(e => e.Event is ShippingNoticeRecorded).Select(e => e.AggregateId).ToArray();
            Assert.NotEmpty(shipped);
            // One notice per shipment: nothing lost on the way out or back in, nothing applied twice.
            Assert.Equal(shipped.Order(StringComparer.Ordinal), notices.Order(StringComparer.Ordinal));
            Assert.Equal(shipped.Length, database.Scalar("SELECT COUNT(*) FROM ae_processed_events WHERE handler = 'ShippingNoticeSubscriber'"));
            Assert.Equal(0, database.Scalar("SELECT COUNT(*) FROM ae_dead_letters WHERE handler = 'ShippingNoticeSubscriber'"));

            var summary = BrokerLine().Match(output);
            Assert.True(summary.Success, output);
            Assert.Equal(shipped.Length, int.Parse(summary.Groups["published"].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(shipped.Length, int.Parse(summary.Groups["consumed"].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains("broker-publisher", output, StringComparison.Ordinal);
        }
        finally
        {
            await TestBroker.DeleteQueueAsync(queue);
        }
    }

    [GeneratedRegex(@"Broker \(RabbitMQ\): (?<published>[\d,]+) order\.shipped notifications published \(confirmed\), (?<consumed>[\d,]+) consumed")]
    private static partial Regex BrokerLine();
}
