// kafkajs 2.2.4 driven by tests/it/test_kafkajs.py: one operation per run, its result as
// one JSON line on stdout (kafkajs's own log goes to stderr). Usage:
//   node kafkajs_client.mjs produce <bootstrap> <topic>   create, produce (none, gzip), offsets
//   node kafkajs_client.mjs delete <bootstrap> <topic>    delete and list
//   node kafkajs_client.mjs idempotent <bootstrap> <topic> produce with idempotent: true
import kafkajs from 'kafkajs'

const { Kafka, CompressionTypes, logLevel, ConfigResourceTypes } = kafkajs
const [op, bootstrap, topic] = process.argv.slice(2)

const kafka = new Kafka({
  clientId: 'weir-it-kafkajs',
  brokers: [bootstrap],
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 3, initialRetryTime: 200 },
  logLevel: logLevel.WARN,
  logCreator: () => ({ namespace, level, label, log }) => {
    process.stderr.write(`[kafkajs ${label} ${namespace}] ${JSON.stringify(log)}\n`)
  }
})

function records (codec, n, baseTs) {
  const out = []
  for (let i = 0; i < n; i++) {
    out.push({
      key: `k-${codec}-${i}`,
      value: `v-${codec}-${i}-` + 'x'.repeat(i % 23),
      headers: { i: `${i}`, codec },
      timestamp: `${baseTs + i}`,
      partition: 0
    })
  }
  return out
}

async function produce () {
  const admin = kafka.admin()
  await admin.connect()
  const result = {}
  result.created = await admin.createTopics({
    topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
    waitForLeaders: true
  })
  result.createdAgain = await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
  const md = await admin.fetchTopicMetadata({ topics: [topic] })
  result.metadata = md.topics.map(t => ({ name: t.name, partitions: t.partitions.map(p => ({ partitionId: p.partitionId, leader: p.leader, partitionErrorCode: p.partitionErrorCode })) }))
  result.listed = (await admin.listTopics()).includes(topic)
  const cfg = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })
  const entries = cfg.resources[0].configEntries
  result.retention = entries.find(e => e.configName === 'retention.ms')?.configValue ?? null
  result.describeErrorCode = cfg.resources[0].errorCode

  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false })
  await producer.connect()
  const baseTs = Date.now() - 100000
  result.sent = []
  result.acks = []
  const codecs = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }
  for (const [name, codec] of Object.entries(codecs)) {
    const recs = records(name, 300, baseTs + (name === 'gzip' ? 1000 : 0))
    // acks -1 (all) and 1 (leader) both
    const meta = await producer.send({ topic, acks: name === 'gzip' ? -1 : 1, compression: codec, messages: recs })
    result.acks.push(meta.map(m => ({ partition: m.partition, errorCode: m.errorCode, baseOffset: m.baseOffset })))
    result.sent.push(...recs)
  }
  await producer.disconnect()

  result.offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition)
  result.byTimestamp = {
    before: await admin.fetchTopicOffsetsByTimestamp(topic, baseTs - 1),
    mid: await admin.fetchTopicOffsetsByTimestamp(topic, baseTs + 150),
    gzipStart: await admin.fetchTopicOffsetsByTimestamp(topic, baseTs + 1000),
    after: await admin.fetchTopicOffsetsByTimestamp(topic, baseTs + 10 ** 7)
  }
  for (const k of Object.keys(result.byTimestamp)) {
    result.byTimestamp[k] = result.byTimestamp[k].sort((a, b) => a.partition - b.partition)
  }
  await admin.disconnect()
  return result
}

async function del () {
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [topic], timeout: 15000 })
  const deadline = Date.now() + 15000
  let listed = true
  while (Date.now() < deadline) {
    listed = (await admin.listTopics()).includes(topic)
    if (!listed) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  let deleteAgain = null
  try {
    await admin.deleteTopics({ topics: [topic], timeout: 5000 })
    deleteAgain = 'ok'
  } catch (e) {
    deleteAgain = e.type || e.name || String(e)
  }
  await admin.disconnect()
  return { listed, deleteAgain }
}

// The idempotent producer (InitProducerId, then sequenced batches): 4 sends of 50 records
// to partition 0, values v-0 ... v-199.
async function idempotent () {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const result = { errorCodes: [], baseOffsets: [], count: 0 }
  for (let s = 0; s < 4; s++) {
    const messages = []
    for (let i = 0; i < 50; i++, result.count++) messages.push({ value: `v-${result.count}`, partition: 0 })
    const meta = await producer.send({ topic, acks: -1, messages })
    result.errorCodes.push(...meta.map(m => m.errorCode))
    result.baseOffsets.push(...meta.map(m => Number(m.baseOffset)))
  }
  await producer.disconnect()
  return result
}

const ops = { produce, delete: del, idempotent }
try {
  const result = await ops[op]()
  // exit only once the pipe took it all: a large result is written asynchronously
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e), type: e.type, name: e.name, stack: e.stack }) + '\n', () => process.exit(1))
}
