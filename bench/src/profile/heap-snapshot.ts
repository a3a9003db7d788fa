import { readFile } from "node:fs/promises";

/** The parts of a V8 .heapsnapshot that the comparison reads. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Retained-size growth of one kind of heap object, per client. */
export interface HeapGrowth {
  /** The node type and, for objects, the constructor name ("object Promise", "closure settle"). */
  kind: string;
  bytesPerClient: number;
  objectsPerClient: number;
}

/**
 * Compares two heap snapshots of one process (before and after `clients`
 * clients connected) and returns the `top` kinds of objects by self-size
 * growth per client. Self size counts each object once, so the rows add up
 * to the total growth of the heap snapshot, native nghttp2 memory included.
 */
export async function compareHeapSnapshots(
  beforePath: string,
  afterPath: string,
  clients: number,
  top: number,
): Promise<{ totalBytesPerClient: number; rows: HeapGrowth[] }> {
  const before = await sizesByKind(beforePath);
  const after = await sizesByKind(afterPath);
  const rows: HeapGrowth[] = [];
  let total = 0;
  for (const [kind, grown] of after) {
    const base = before.get(kind) ?? { bytes: 0, count: 0 };
    total += grown.bytes - base.bytes;
    rows.push({
      kind,
      bytesPerClient: (grown.bytes - base.bytes) / clients,
      objectsPerClient: (grown.count - base.count) / clients,
    });
  }
  rows.sort((a, b) => b.bytesPerClient - a.bytesPerClient);
  return { totalBytesPerClient: total / clients, rows: rows.slice(0, top) };
}

async function sizesByKind(path: string): Promise<Map<string, { bytes: number; count: number }>> {
  const snapshot = JSON.parse(await readFile(path, "utf8")) as HeapSnapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeField = fields.indexOf("type");
  const nameField = fields.indexOf("name");
  const sizeField = fields.indexOf("self_size");

  const sizes = new Map<string, { bytes: number; count: number }>();
  for (let index = 0; index < snapshot.nodes.length; index += stride) {
    const type = types[snapshot.nodes[index + typeField] ?? 0] ?? "unknown";
    const name = snapshot.strings[snapshot.nodes[index + nameField] ?? 0] ?? "";
    const kind = kindOf(type, name);
    const entry = sizes.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += snapshot.nodes[index + sizeField] ?? 0;
    entry.count += 1;
    sizes.set(kind, entry);
  }
  return sizes;
}

/** Groups strings, code and arrays by type, and names objects, closures and native nodes. */
function kindOf(type: string, name: string): string {
  if (type.includes("string")) return "strings";
  if (type === "code" || type === "array" || type === "hidden" || type === "number") return type;
  return `${type} ${name === "" ? "(anonymous)" : name}`.slice(0, 60);
}
