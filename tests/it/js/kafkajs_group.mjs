// kafkajs 2.2.4 as one consumer-group member, for tests/it/test_groups.py: joins GROUP on
// TOPIC with a round-robin assignor under the protocol name "roundrobin" (the name
// librdkafka and kafka-python use, so all three clients can share one group), prints one
// JSON line per assignment ({"assigned": [[topic, p], ...]}) and per record ({"p", "o",
// "v"}), commits as it goes, and leaves the group when its stdin closes.
//   node kafkajs_group.mjs <bootstrap> <topic> <group>
import kafkajs from 'kafkajs'

const { Kafka, PartitionAssigners, logLevel } = kafkajs
const [bootstrap, topic, group] = process.argv.slice(2)

const kafka = new Kafka({
  clientId: 'weir-it-kafkajs',
  brokers: [bootstrap],
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 10, initialRetryTime: 200 },
  logLevel: logLevel.WARN,
  logCreator: () => ({ namespace, level, label, log }) => {
    process.stderr.write(`[kafkajs ${label} ${namespace}] ${JSON.stringify(log)}\n`)
  }
})

const roundrobin = (cfg) => ({ ...PartitionAssigners.roundRobin(cfg), name: 'roundrobin' })
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: 10000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 100,
  partitionAssigners: [roundrobin]
})

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const parts = []
  for (const [t, ps] of Object.entries(payload.memberAssignment)) for (const p of ps) parts.push([t, p])
  emit({ assigned: parts.sort((a, b) => a[1] - b[1]) })
})

await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: true })
await consumer.run({
  autoCommitInterval: 200,
  eachMessage: async ({ partition, message }) => {
    emit({ p: partition, o: Number(message.offset), v: message.value.toString() })
  }
})

process.stdin.resume()
process.stdin.on('end', async () => {
  await consumer.disconnect()
  process.exit(0)
})
