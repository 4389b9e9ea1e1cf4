// Money arrives as integer minor units plus an ISO 4217 code; the hub computes every
// total. The page only formats: it builds the exact decimal as a string (no float
// division) and lets Intl.NumberFormat, which accepts decimal strings, write it the way
// the viewer's language does.

// Minor-unit digits, as in console/domain/money.py: a wrong exponent shows a price 100
// times off, so the page follows the hub's table rather than the browser's.
const EXPONENTS = { JPY: 0, KRW: 0, BHD: 3, KWD: 3 };
const formatters = new Map();

export function exponent(currency) {
  return EXPONENTS[currency] ?? 2;
}

export function decimalString(minor, digits) {
  const sign = minor < 0 ? "-" : "";
  const padded = String(Math.abs(minor)).padStart(digits + 1, "0");
  const whole = padded.slice(0, padded.length - digits);
  return digits ? `${sign}${whole}.${padded.slice(padded.length - digits)}` : `${sign}${whole}`;
}

function formatter(currency) {
  let format = formatters.get(currency);
  if (!format) {
    const digits = exponent(currency);
    format = new Intl.NumberFormat(navigator.language || "en", {
      style: "currency",
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    formatters.set(currency, format);
  }
  return format;
}

export function formatMoney(minor, currency) {
  if (!Number.isSafeInteger(minor) || typeof currency !== "string") return "";
  const amount = decimalString(minor, exponent(currency));
  try {
    return formatter(currency).format(amount);
  } catch {
    return `${amount} ${currency}`;
  }
}
