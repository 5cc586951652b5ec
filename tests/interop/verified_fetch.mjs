// Fetches IPFS content from a Thunder node with @helia/verified-fetch (the reference JS client:
// it verifies every block it receives against its CID) and compares it with local files.
//
//   node verified_fetch.mjs [--timeout-ms N] [--via-routing] <gateway-url> <cid>[/path] <expected>
//
// <expected> is a file: the response must be 200 with exactly its bytes.
// <expected> is a directory: the response for a UnixFS directory (without index.html) is the
//   directory's dag-pb block (Content-Type application/vnd.ipld.dag-pb, X-Unixfs-Type
//   directory); its link names must be the directory's entries (names starting with "." are
//   skipped, as `ipfs-car pack` does), and every file below it is fetched through
//   <cid>/<path>/<name> and compared byte for byte.
//
// By default the node is both the trustless gateway and the delegated router. --via-routing
// gives verified-fetch no gateway at all: it must find the node through
// GET /routing/v1/providers/<cid> (a "transport-ipfs-gateway-http" provider with an /http
// multiaddr) to fetch anything.
//
// Nothing leaves the machine: no libp2p peer discovery (bootstrap, mDNS), no DHT, no UPnP, no
// listening sockets, and DNS resolution refused; the only servers contacted are the URLs given.
//
// Exit status: 0 all matched; 1 a mismatch or a fetch error (printed as "FAIL: ..."); 2 usage;
// 3 the hard timeout fired (printed as "TIMEOUT: ...").
import { createVerifiedFetch } from '@helia/verified-fetch'
import * as dagPb from '@ipld/dag-pb'
import fs from 'node:fs'
import path from 'node:path'

const kExitMismatch = 1
const kExitUsage = 2
const kExitTimeout = 3

function usage (message) {
  console.error(`verified_fetch.mjs: ${message}`)
  console.error('usage: verified_fetch.mjs [--timeout-ms N] [--via-routing] <gateway-url> <cid>[/path] <expected-file-or-dir>')
  process.exit(kExitUsage)
}

let timeoutMs = 60000
let viaRouting = false
const positional = []
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--timeout-ms') {
    timeoutMs = Number(argv[++i])
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms needs a positive integer')
  } else if (argv[i] === '--via-routing') {
    viaRouting = true
  } else if (argv[i].startsWith('--')) {
    usage(`unknown option ${argv[i]}`)
  } else {
    positional.push(argv[i])
  }
}
if (positional.length !== 3) usage('expected 3 arguments')
const [gateway, target, expected] = positional
if (!/^https?:\/\/[^/]+\/?$/.test(gateway)) usage(`gateway "${gateway}" is not an http(s)://host:port URL`)
if (!fs.existsSync(expected)) usage(`expected path ${expected} does not exist`)

// The hard timeout: whatever verified-fetch does (retries, a stuck stream, a slow stop()), this
// process ends by then. The abort signal below normally ends the fetches a little earlier.
const hardTimer = setTimeout(() => {
  console.error(`TIMEOUT: no answer for ipfs://${target} from ${gateway} within ${timeoutMs} ms`)
  process.exit(kExitTimeout)
}, timeoutMs)
const signal = AbortSignal.timeout(Math.max(1, timeoutMs - 2000))

class Mismatch extends Error {}

const verifiedFetch = await createVerifiedFetch({
  gateways: viaRouting ? [] : [gateway],
  routers: [gateway],
  allowInsecure: true,
  allowLocal: true,
  dnsResolvers: {
    '.': async (domain) => {
      throw new Error(`DNS lookups are disabled in this test (asked for ${domain})`)
    }
  },
  libp2pConfig: {
    addresses: { listen: [] },
    transports: [],
    peerDiscovery: [],
    services: {}
  }
})

async function fetchOk (ipfsPath) {
  const url = `ipfs://${ipfsPath}`
  let response
  try {
    response = await verifiedFetch(url, { signal })
  } catch (err) {
    throw new Mismatch(`verified-fetch threw for ${url}: ${err.name}: ${err.message}`)
  }
  if (response.status !== 200) {
    let body = ''
    try { body = (await response.text()).slice(0, 500) } catch {}
    throw new Mismatch(`verified-fetch answered ${response.status} ${response.statusText} for ${url}: ${body}`)
  }
  let bytes
  try {
    bytes = new Uint8Array(await response.arrayBuffer())
  } catch (err) {
    throw new Mismatch(`reading the body of ${url} failed: ${err.name}: ${err.message}`)
  }
  return { response, bytes }
}

function compareBytes (label, got, want) {
  if (got.length !== want.length) {
    throw new Mismatch(`${label}: got ${got.length} bytes, expected ${want.length}`)
  }
  const n = got.length
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) throw new Mismatch(`${label}: bytes differ first at offset ${i}`)
  }
}

async function checkFile (ipfsPath, file) {
  const { bytes } = await fetchOk(ipfsPath)
  compareBytes(`ipfs://${ipfsPath} vs ${file}`, bytes, fs.readFileSync(file))
  console.log(`ok file ipfs://${ipfsPath} (${bytes.length} bytes)`)
  return 1
}

async function checkDirectory (ipfsPath, dir) {
  const { response, bytes } = await fetchOk(ipfsPath)
  const type = response.headers.get('content-type')
  const unixfsType = response.headers.get('x-unixfs-type')
  if (type !== 'application/vnd.ipld.dag-pb' || unixfsType !== 'directory') {
    throw new Mismatch(`ipfs://${ipfsPath}: expected a UnixFS directory listing, got Content-Type ${type}, X-Unixfs-Type ${unixfsType}`)
  }
  let node
  try {
    node = dagPb.decode(bytes)
  } catch (err) {
    throw new Mismatch(`ipfs://${ipfsPath}: the directory block does not decode as dag-pb: ${err.message}`)
  }
  const got = node.Links.map((link) => link.Name).sort()
  const entries = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'))
  const want = entries.map((e) => e.name).sort()
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Mismatch(`ipfs://${ipfsPath}: directory entries ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`)
  }
  console.log(`ok dir  ipfs://${ipfsPath} (${got.length} entries)`)
  let checked = 1
  const base = ipfsPath.replace(/\/+$/, '')
  for (const entry of entries) {
    const child = `${base}/${encodeURIComponent(entry.name)}`
    const local = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      checked += await checkDirectory(child, local)
    } else if (entry.isFile()) {
      checked += await checkFile(child, local)
    }
  }
  return checked
}

let exitCode = 0
try {
  const checked = fs.statSync(expected).isDirectory()
    ? await checkDirectory(target, expected)
    : await checkFile(target, expected)
  console.log(`all ${checked} checks passed for ipfs://${target} via ${gateway}${viaRouting ? ' (found through delegated routing)' : ''}`)
} catch (err) {
  if (signal.aborted) {
    console.error(`TIMEOUT: ipfs://${target} from ${gateway} not done within ${timeoutMs} ms (${err.message})`)
    exitCode = kExitTimeout
  } else {
    console.error(`FAIL: ${err instanceof Mismatch ? err.message : err.stack}`)
    exitCode = kExitMismatch
  }
}
// stop() may wait for libp2p; the hard timer still bounds it.
try { await verifiedFetch.stop() } catch {}
clearTimeout(hardTimer)
process.exit(exitCode)
