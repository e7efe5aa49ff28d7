// @platformatic/kafka 1.35.0 driven by tests/it/test_kafkajs.py. This client speaks only
// the flexible API versions (ApiVersions v3, Metadata v9+, Produce v7+, Fetch v12+,
// ListOffsets v5+, CreateTopics v7, DeleteTopics v6, DescribeConfigs v4, CreatePartitions
// v3), with strict option validation. One JSON line on stdout. Usage:
//   node platformatic_client.mjs roundtrip <bootstrap> <topic>
//   node platformatic_client.mjs delete <bootstrap> <topic>
//   node platformatic_client.mjs idempotent <bootstrap> <topic>
import {
  Admin, Producer, Consumer, ProduceAcks, ConfigResourceTypes, ListOffsetTimestamps,
  compressionsAlgorithms
} from '@platformatic/kafka'

const [op, bootstrap, topic] = process.argv.slice(2)
const base = { clientId: 'weir-it-platformatic', bootstrapBrokers: [bootstrap], strict: true, timeout: 15000, retries: 3, retryDelay: 200 }

function codecWorks (name) {
  try {
    const algo = compressionsAlgorithms[name]
    const data = Buffer.from('probe probe probe')
    return algo.decompressSync(algo.compressSync(data)).equals(data)
  } catch {
    return false
  }
}

function apiIds (e) {
  const out = []
  if (e?.apiId) out.push(e.apiId)
  for (const x of e?.errors ?? []) out.push(...apiIds(x))
  return out
}

const b64 = b => (b === null || b === undefined ? null : Buffer.from(b).toString('base64'))

async function fetchAll (consumer, leader, partition, fromOffset, want) {
  const out = []
  let offset = fromOffset
  const deadline = Date.now() + 20000
  while (out.length < want && Date.now() < deadline) {
    const res = await consumer.fetch({
      node: leader,
      maxWaitTime: 200,
      minBytes: 1,
      maxBytes: 1048576,
      topics: [{ topicId: topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 1048576 }] }]
    })
    const p = res.responses[0].partitions[0]
    if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode} at offset ${offset}`)
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        const o = batch.firstOffset + BigInt(r.offsetDelta)
        if (o < offset) continue // a fetch inside a batch returns the whole batch
        out.push({
          offset: Number(o),
          timestamp: Number(batch.firstTimestamp + r.timestampDelta),
          key: b64(r.key),
          value: b64(r.value),
          headers: r.headers.map(([k, v]) => [b64(k), b64(v)])
        })
        offset = o + 1n
      }
    }
  }
  return out
}

async function roundtrip () {
  const result = {}
  const admin = new Admin(base)
  const created = await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 })
  result.created = created.map(t => ({ name: t.name, partitions: t.partitions, replicas: t.replicas }))
  try {
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 })
    result.createdAgain = 'ok'
  } catch (e) {
    result.createdAgain = apiIds(e)
  }
  await admin.createPartitions({ topics: [{ name: topic, count: 3 }] })
  const md = await admin.metadata({ topics: [topic], forceUpdate: true })
  const tmd = md.topics.get(topic)
  result.partitionsCount = tmd.partitionsCount
  result.leaders = tmd.partitions.map(p => p.leader)
  result.brokers = [...md.brokers.values()].map(b => `${b.host}:${b.port}`)
  result.listed = (await admin.listTopics()).includes(topic)
  const cfg = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] })
  result.retention = cfg[0].configs.find(c => c.name === 'retention.ms')?.value ?? null
  result.retentionSource = cfg[0].configs.find(c => c.name === 'retention.ms')?.configSource ?? null
  await admin.close()

  const producer = new Producer({ ...base, idempotent: false, autocreateTopics: false })
  const baseTs = BigInt(Date.now() - 100000)
  result.codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].filter(codecWorks)
  result.sent = []
  result.offsets = []
  let n = 0
  for (const codec of result.codecs) {
    const messages = []
    for (let i = 0; i < 200; i++, n++) {
      messages.push({
        topic,
        partition: 1,
        key: Buffer.from(`k-${codec}-${i}`),
        value: Buffer.concat([Buffer.from(`v-${codec}-${i}-`), Buffer.from([0, 255, i % 256])]),
        headers: new Map([[Buffer.from('i'), Buffer.from(`${i}`)], [Buffer.from('codec'), Buffer.from(codec)]]),
        timestamp: baseTs + BigInt(n)
      })
    }
    const res = await producer.send({ messages, compression: codec, acks: codec === 'gzip' ? ProduceAcks.LEADER : ProduceAcks.ALL })
    result.offsets.push((res.offsets ?? []).map(o => ({ partition: o.partition, offset: Number(o.offset) })))
    for (const m of messages) {
      result.sent.push({ key: b64(m.key), value: b64(m.value), headers: [...m.headers].map(([k, v]) => [b64(k), b64(v)]), timestamp: Number(m.timestamp) })
    }
  }
  await producer.close()

  const consumer = new Consumer({ ...base, groupId: 'weir-it-never-joined' })
  const latest = await consumer.listOffsets({ topics: [topic] })
  result.latest = latest.get(topic).map(Number)
  const earliest = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST })
  result.earliest = earliest.get(topic).map(Number)
  const byTs = await consumer.listOffsetsWithTimestamps({ topics: [topic], partitions: { [topic]: [1] }, timestamp: baseTs + 250n })
  result.byTimestamp = Number(byTs.get(topic).get(1).offset)
  result.read = await fetchAll(consumer, result.leaders[1], 1, 0n, result.sent.length)
  result.readFrom117 = (await fetchAll(consumer, result.leaders[1], 1, 117n, 1))[0]
  await consumer.close()
  return result
}

async function del () {
  const admin = new Admin(base)
  await admin.deleteTopics({ topics: [topic] })
  const deadline = Date.now() + 15000
  let listed = true
  while (Date.now() < deadline) {
    listed = (await admin.listTopics()).includes(topic)
    if (!listed) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  await admin.close()
  return { listed }
}

// The idempotent producer (this version defaults to idempotent: false, so it is asked
// for): 4 sends of 50 records to partition 0, values v-0 ... v-199.
async function idempotent () {
  const producer = new Producer({ ...base, idempotent: true, autocreateTopics: false })
  const result = { offsets: [], count: 0 }
  for (let s = 0; s < 4; s++) {
    const messages = []
    for (let i = 0; i < 50; i++, result.count++) messages.push({ topic, partition: 0, value: Buffer.from(`v-${result.count}`) })
    const res = await producer.send({ messages })
    result.offsets.push(...(res.offsets ?? []).map(o => Number(o.offset)))
  }
  await producer.close()
  return result
}

const ops = { roundtrip, delete: del, idempotent }
try {
  const result = await ops[op]()
  // exit only once the pipe took it all: a large result is written asynchronously
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
} catch (e) {
  const detail = { error: String(e), code: e.code, apiIds: apiIds(e), stack: e.stack }
  if (e.errors) detail.errors = e.errors.map(x => ({ message: String(x), code: x.code, apiId: x.apiId, serverErrorMessage: x.serverErrorMessage, nested: (x.errors ?? []).map(String) }))
  process.stdout.write(JSON.stringify(detail) + '\n', () => process.exit(1))
}
