// The page's texts, from the catalog the server filled into <script type="application/json" id="texts">.
const node = document.getElementById("texts");
const texts = node ? JSON.parse(node.textContent) : {};

export function t(key, values = {}) {
  const text = texts[key] ?? key;
  return text.replace(/\{([a-z_]+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export const built = texts["@built"] === "True";
