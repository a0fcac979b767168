// Formatting shared by the screens: times, numbers, and labels that pair every colour with text.

const LEVELS = ["low", "medium", "high", "critical"];

/** The level of a 0-100 risk score (the floors of vigil.correlate.risk), when the API gives none. */
export function levelOf(risk) {
  const value = Number(risk) || 0;
  if (value >= 75) return "critical";
  if (value >= 55) return "high";
  if (value >= 35) return "medium";
  return "low";
}

export function levelLabel(level) {
  const known = LEVELS.includes(level) ? level : "unknown";
  return known.charAt(0).toUpperCase() + known.slice(1);
}

/** Words written their own way wherever they appear in a label (acronyms, brand spellings). */
const SPELLINGS = {
  api: "API", c2: "C2", cde: "CDE", ddos: "DDoS", dns: "DNS", http: "HTTP", iot: "IoT",
  ip: "IP", mfa: "MFA", ocsf: "OCSF", pci: "PCI", pos: "POS", sco: "SCO", sql: "SQL",
  uid: "UID", vpn: "VPN", wifi: "Wi-Fi",
};

/** Labels of the use cases (rule packs and playbooks), where word-by-word would read badly. */
export const USE_CASES = {
  iot_c2: "IoT command and control",
  sco_scan_avoidance: "Self-checkout scan avoidance",
  organised_retail_crime: "Organised retail crime",
};

/** An API name as words: "pos_malware" -> "POS malware", "guest_wifi_scan" -> "Guest Wi-Fi scan". */
export function words(value) {
  const text = String(value ?? "");
  if (USE_CASES[text]) return USE_CASES[text];
  const joined = text.split("_").filter(Boolean).map((part) => SPELLINGS[part.toLowerCase()] ?? part).join(" ");
  return joined.charAt(0).toUpperCase() + joined.slice(1);
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
  return Number(value).toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "2025-03-01 14:05:09" in the viewer's time zone; "–" for no time. */
export function time(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "3 min ago", "in 2 h"; `now` is injectable for tests. */
export function ago(value, now = Date.now()) {
  if (!value) return "never";
  const then = new Date(value).getTime();
  if (Number.isNaN(then)) return String(value);
  const seconds = Math.round((now - then) / 1000);
  const size = Math.abs(seconds);
  const text = size < 60 ? `${size} s` : size < 3600 ? `${Math.round(size / 60)} min`
    : size < 86400 ? `${Math.round(size / 3600)} h` : `${Math.round(size / 86400)} d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const value = Math.max(0, Number(seconds));
  if (value < 60) return `${Math.round(value)} s`;
  if (value < 3600) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}
