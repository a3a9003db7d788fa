/**
 * A strict reader for the XML subset the JUnit reporter writes: a
 * declaration, elements, attributes, text and character or entity
 * references (no DTD, comments, CDATA or processing instructions). It
 * throws on anything that is not well-formed XML 1.0, so a test can check
 * the reporter's escaping and read back the decoded values.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, decoded, with the text of children left out. */
  text: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*/;
const ALLOWED_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Parses `xml` and returns its root element; throws with the offset of the first error. */
export function parseXml(xml: string): XmlElement {
  if (!ALLOWED_CHARS.test(xml)) throw new Error("the document contains a character XML 1.0 forbids");
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${at}: ${JSON.stringify(xml.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (at < xml.length && " \t\r\n".includes(xml[at]!)) at++;
  };
  const readName = (): string => {
    const match = NAME.exec(xml.slice(at));
    if (!match) return fail("expected a name");
    at += match[0].length;
    return match[0];
  };
  const decode = (raw: string, inAttribute: boolean): string => {
    if (raw.includes("<")) fail("raw '<' in text or attribute");
    if (inAttribute) raw = raw.replace(/[\t\n\r]/g, " ");
    return raw.replace(/&([^;]*);|&/g, (whole, body: string | undefined) => {
      if (body === undefined) return fail("raw '&' without a reference");
      if (body in ENTITIES) return ENTITIES[body]!;
      const numeric = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body);
      if (!numeric) return fail(`unknown reference ${whole}`);
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2]);
      const char = String.fromCodePoint(code);
      if (!ALLOWED_CHARS.test(char)) fail(`reference to a forbidden character ${whole}`);
      return char;
    });
  };

  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0) fail("unterminated XML declaration");
    at = end + 2;
  }
  skipSpace();

  const readElement = (): XmlElement => {
    if (xml[at] !== "<") fail("expected '<'");
    at++;
    const element: XmlElement = { name: readName(), attributes: {}, children: [], text: "" };
    for (;;) {
      skipSpace();
      if (xml.startsWith("/>", at)) {
        at += 2;
        return element;
      }
      if (xml[at] === ">") {
        at++;
        break;
      }
      const name = readName();
      if (name in element.attributes) fail(`duplicate attribute ${name}`);
      skipSpace();
      if (xml[at] !== "=") fail("expected '='");
      at++;
      skipSpace();
      const quote = xml[at];
      if (quote !== '"' && quote !== "'") return fail("expected a quoted attribute value");
      const end = xml.indexOf(quote, at + 1);
      if (end < 0) fail("unterminated attribute value");
      element.attributes[name] = decode(xml.slice(at + 1, end), true);
      at = end + 1;
    }
    for (;;) {
      const next = xml.indexOf("<", at);
      if (next < 0) fail(`unclosed element <${element.name}>`);
      const raw = xml.slice(at, next);
      if (raw.includes("]]>")) fail("']]>' in text");
      element.text += decode(raw, false);
      at = next;
      if (xml.startsWith("</", at)) {
        at += 2;
        const name = readName();
        if (name !== element.name) fail(`</${name}> closes <${element.name}>`);
        skipSpace();
        if (xml[at] !== ">") fail("expected '>'");
        at++;
        return element;
      }
      element.children.push(readElement());
    }
  };

  const root = readElement();
  skipSpace();
  if (at !== xml.length) fail("content after the root element");
  return root;
}

/** Returns every descendant element named `name`, depth first. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (const child of element.children) {
    if (child.name === name) found.push(child);
    found.push(...findAll(child, name));
  }
  return found;
}
