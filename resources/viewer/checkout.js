// The checkout sheet. Before the viewer confirms, the hub quotes the purchase (price,
// shipping, total and the pay-later plan: the page never adds up money itself). The
// viewer chooses to pay now or in the quote's instalments; the choice travels in the buy
// (`plan`, a number of payments) and the Pay button says what is taken today. Confirm
// sends one `buy` with an idempotency key that stays the same for every retry of that
// purchase (a dropped connection, a double tap), so the viewer is charged once whatever
// happens to the network. Details and the card's token are remembered only after a
// confirmed order, which makes the next purchase two taps: Buy, then Confirm.

import { byId, el, randomId, storage } from "./dom.js";
import { formatMoney } from "./money.js";

const BUYER_KEY = "shopcast.buyer";
const PAYMENT_KEY = "shopcast.payment";
const BUYER_FIELDS = ["name", "email", "address1", "address2", "city", "postal_code", "country"];
const REQUIRED_FIELDS = ["name", "email", "address1", "city", "postal_code", "country"];
const KEY_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
// Where the shop ships: console/domain/checkout.py's COUNTRIES; the hub has the last word.
const COUNTRIES = [
  "AD", "AE", "AT", "AU", "BE", "BG", "BH", "BR", "CA", "CH", "CN", "CY", "CZ", "DE", "DK",
  "EE", "ES", "FI", "FR", "GB", "GR", "HK", "HR", "HU", "IE", "IN", "IS", "IT", "JP", "KR",
  "KW", "LI", "LT", "LU", "LV", "MC", "MT", "MX", "NL", "NO", "NZ", "PL", "PT", "RO", "SE",
  "SG", "SI", "SK", "SM", "TR", "US", "ZA",
];

const els = {
  dialog: byId("checkout"),
  form: byId("checkout-form"),
  close: byId("checkout-close"),
  image: byId("sheet-image"),
  title: byId("sheet-title"),
  meta: byId("sheet-meta"),
  deal: byId("sheet-deal"),
  saved: byId("saved-details"),
  savedAddressRow: byId("saved-address-row"),
  savedAddress: byId("saved-address"),
  savedCardRow: byId("saved-card-row"),
  savedCard: byId("saved-card"),
  changeDetails: byId("change-details"),
  changeCard: byId("change-card"),
  buyerFields: byId("buyer-fields"),
  cardFields: byId("card-fields"),
  card: byId("card-number"),
  country: byId("buyer-country"),
  wait: byId("summary-wait"),
  totals: byId("totals"),
  subtotalLabel: byId("subtotal-label"),
  subtotal: byId("subtotal"),
  shipping: byId("shipping"),
  total: byId("total"),
  planChoice: byId("plan-choice"),
  planNow: byId("plan-now"),
  planNowAmount: byId("plan-now-amount"),
  planLater: byId("plan-later"),
  planLaterLabel: byId("plan-later-label"),
  planLaterAmount: byId("plan-later-amount"),
  bnpl: byId("bnpl"),
  bnplList: byId("bnpl-list"),
  bnplNote: byId("bnpl-note"),
  notice: byId("checkout-notice"),
  error: byId("checkout-error"),
  confirm: byId("checkout-confirm"),
  fineprint: byId("checkout-fineprint"),
  confirmation: byId("order-confirmation"),
  confirmationClose: byId("confirmation-close"),
  confirmationDone: byId("confirmation-done"),
  confirmationLead: byId("confirmation-lead"),
  confirmationId: byId("confirmation-id"),
  confirmationWhat: byId("confirmation-what"),
  confirmationTotal: byId("confirmation-total"),
  confirmationPaid: byId("confirmation-paid"),
  confirmationPlan: byId("confirmation-plan"),
  confirmationPlanHeadline: byId("confirmation-plan-headline"),
  confirmationPlanList: byId("confirmation-plan-list"),
  confirmationNote: byId("confirmation-note"),
};

function input(field) {
  return byId(`buyer-${field}`);
}

function fieldError(field) {
  return byId(`buyer-${field}-error`);
}

function newKey() {
  return randomId(18);
}

function cardDigits(raw) {
  return raw.replace(/[\s-]/g, "");
}

function firstName(name) {
  return String(name || "").trim().split(/\s+/)[0].slice(0, 40);
}

function loadBuyer() {
  const saved = storage.getJSON(BUYER_KEY);
  if (!saved || typeof saved !== "object") return null;
  const buyer = {};
  for (const field of BUYER_FIELDS) buyer[field] = typeof saved[field] === "string" ? saved[field] : "";
  return REQUIRED_FIELDS.every((f) => buyer[f]) ? buyer : null;
}

function loadPayment() {
  const saved = storage.getJSON(PAYMENT_KEY);
  if (!saved || typeof saved.token !== "string" || !saved.token) return null;
  return { token: saved.token, label: typeof saved.label === "string" ? saved.label : "Saved card" };
}

const regionNames = (() => {
  try {
    return new Intl.DisplayNames([navigator.language || "en"], { type: "region" });
  } catch {
    return null;
  }
})();

function countryName(code) {
  try {
    return (regionNames && regionNames.of(code)) || code;
  } catch {
    return code;
  }
}

function fillCountries() {
  const choose = el("option", "", "Choose…");
  choose.value = "";
  const options = COUNTRIES.map((code) => {
    const option = el("option", "", countryName(code));
    option.value = code;
    return option;
  }).sort((a, b) => a.textContent.localeCompare(b.textContent));
  els.country.replaceChildren(choose, ...options);
  // The browser's language often names the country ("de-AT"); a guess the viewer can change.
  const region = (navigator.language || "").split("-")[1];
  if (region && COUNTRIES.includes(region.toUpperCase())) els.country.value = region.toUpperCase();
}

// ------------------------------------------------------------------ the pay-later plan

function dueText(iso, today) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
  if (!m) return String(iso);
  if (iso === today) return "today";
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const sameYear = today && today.slice(0, 4) === m[1];
  const format = new Intl.DateTimeFormat(navigator.language || "en", {
    day: "numeric",
    month: "short",
    ...(sameYear ? {} : { year: "numeric" }),
  });
  return `on ${format.format(date)}`;
}

// The hub's plan is equal payments except the first, which carries the cents that do
// not divide (console/domain/instalments.py).
function planHeadline(instalments, currency, prefix) {
  const count = instalments.length;
  const first = instalments[0].amount;
  const rest = instalments[count - 1].amount;
  const each = `${prefix} ${count} interest-free payments of ${formatMoney(rest, currency)}`;
  return first === rest ? each : `${each} (the first ${formatMoney(first, currency)})`;
}

function validPlan(instalments) {
  return Array.isArray(instalments)
    ? instalments.filter((i) => i && Number.isSafeInteger(i.amount))
    : [];
}

function renderPlan(parts, instalments, currency, today) {
  const valid = validPlan(instalments);
  parts.box.hidden = valid.length < 2;
  if (valid.length < 2) return false;
  if (parts.headline) parts.headline.textContent = planHeadline(valid, currency, parts.prefix);
  parts.list.replaceChildren(
    ...valid.map((i) => {
      const item = el("li", "bnpl-item");
      item.append(
        el("span", "bnpl-amount", formatMoney(i.amount, currency)),
        el("span", "bnpl-due", dueText(i.due, today))
      );
      return item;
    })
  );
  return true;
}

// ------------------------------------------------------------------ the sheet

export function createCheckout({ makeRef, send, isConnected, identity, hubNow, onPurchased, onSoldOut, onClosed }) {
  let item = null; // { product, variant, quantity, label, image, claimId?, auctionId? }
  let stock = null; // the item's stock as last heard
  let attempt = null; // { key, sku, quantity }: one purchase, kept across its retries
  let quote = null;
  let quoteRef = null;
  let plan = 1; // how many payments the viewer chose: 1 pays now
  let buying = null; // { ref, message, usedSavedCard } while a buy waits for its answer
  let editingDetails = false;
  let editingCard = false;
  let formError = false; // the form refused something since the sheet opened
  let refused = false; // the hub refused a buy since then, and told the team why

  function hubToday() {
    return new Date(hubNow() * 1000).toISOString().slice(0, 10);
  }

  // -------------------------------------------------------------- opening

  function open(next) {
    item = next;
    stock = next.variant.stock;
    const sameAttempt =
      attempt && attempt.sku === item.variant.sku && attempt.quantity === item.quantity;
    if (!sameAttempt) attempt = { key: newKey(), sku: item.variant.sku, quantity: item.quantity };
    plan = 1;
    formError = false;
    refused = false;
    els.title.textContent = item.product.title;
    const unit = item.label ? `${item.label} · ` : "";
    els.meta.textContent = `${unit}Qty ${item.quantity}`;
    els.image.classList.toggle("placeholder", !item.image);
    if (item.image) els.image.src = item.image;
    else els.image.removeAttribute("src");
    els.form.hidden = false;
    els.confirmation.hidden = true;
    els.dialog.setAttribute("aria-labelledby", "checkout-heading");
    clearMessages();
    renderDetails();
    requestQuote();
    if (!els.dialog.open) els.dialog.showModal();
  }

  function renderDetails() {
    const buyer = loadBuyer();
    const payment = loadPayment();
    const showBuyer = Boolean(buyer) && !editingDetails;
    const showCard = Boolean(payment) && !editingCard;
    els.saved.hidden = !showBuyer && !showCard;
    els.savedAddressRow.hidden = !showBuyer;
    els.buyerFields.hidden = showBuyer;
    els.savedCardRow.hidden = !showCard;
    els.cardFields.hidden = showCard;
    if (buyer) {
      const street = [buyer.address1, buyer.address2].filter(Boolean).join(", ");
      els.savedAddress.textContent = `${buyer.name}, ${street}, ${buyer.postal_code} ${buyer.city}, ${countryName(buyer.country)} · ${buyer.email}`;
      for (const field of BUYER_FIELDS) {
        const box = input(field);
        if (!box.value && buyer[field]) box.value = buyer[field];
      }
    }
    if (payment) els.savedCard.textContent = payment.label;
    els.fineprint.textContent =
      !identity.name() && !showBuyer
        ? "In the chat you'll show with your first name."
        : "";
  }

  function clearMessages() {
    els.notice.textContent = "";
    els.error.textContent = "";
    for (const field of [...BUYER_FIELDS, "payment"]) {
      fieldError(field).textContent = "";
      const box = field === "payment" ? els.card : input(field);
      box.removeAttribute("aria-invalid");
    }
  }

  // -------------------------------------------------------------- quote

  function requestQuote() {
    if (!item) return;
    quote = null;
    quoteRef = makeRef("quote");
    renderQuote();
    // A claim's held units are the viewer's: the hub counts them as in stock for it.
    send({
      t: "quote",
      sku: item.variant.sku,
      quantity: item.quantity,
      claim_id: item.claimId,
      auction_id: item.auctionId,
      ref: quoteRef,
    });
  }

  function renderQuote() {
    els.wait.hidden = Boolean(quote);
    els.totals.hidden = !quote;
    if (!quote) {
      els.planChoice.hidden = true;
      els.wait.textContent = isConnected() ? "Getting the total…" : "Waiting for the connection…";
      els.confirm.textContent = "Confirm";
      updateConfirm();
      return;
    }
    const currency = quote.currency;
    const unit = formatMoney(quote.unit_price, currency);
    const each = quote.quantity > 1 ? ` (${quote.quantity} × ${unit})` : "";
    els.subtotalLabel.textContent = quote.deal ? `Flash deal price${each}` : `Price${each}`;
    els.subtotal.replaceChildren();
    if (quote.deal && quote.regular_unit_price > quote.unit_price && quote.quantity === 1) {
      const was = el("s", "", formatMoney(quote.regular_unit_price, currency));
      was.prepend(el("span", "visually-hidden", "Was "));
      els.subtotal.append(was);
    }
    els.subtotal.append(formatMoney(quote.subtotal, currency));
    els.shipping.textContent = quote.shipping === 0 ? "Free" : formatMoney(quote.shipping, currency);
    els.total.textContent = formatMoney(quote.total, currency);
    renderPlanChoice(currency);
    updateConfirm();
  }

  // Pay now, or in the hub's instalments: the Pay button names what is taken today.
  function renderPlanChoice(currency) {
    const offered = validPlan(quote.instalments);
    const later = offered.length >= 2;
    if (!later || plan !== offered.length) plan = 1;
    els.planChoice.hidden = !later;
    els.planNowAmount.textContent = formatMoney(quote.total, currency);
    els.planNow.checked = plan === 1;
    els.planLater.checked = plan !== 1;
    let today = quote.total;
    if (later) {
      const first = offered[0].amount;
      const rest = offered[offered.length - 1].amount;
      els.planLater.value = String(offered.length);
      els.planLaterLabel.textContent = `Pay in ${offered.length}, interest-free`;
      els.planLaterAmount.textContent = `${formatMoney(first, currency)} today, then ${
        offered.length - 1
      } × ${formatMoney(rest, currency)}`;
      renderPlan(
        { box: els.bnpl, list: els.bnplList },
        offered,
        currency,
        hubToday()
      );
      els.bnplNote.textContent = `No interest and no fees: the payments add up to ${formatMoney(
        quote.total,
        currency
      )}, the same as paying at once.`;
      els.bnpl.hidden = plan === 1;
      if (plan !== 1) today = first;
    }
    const amount = formatMoney(today, currency);
    els.confirm.textContent = plan === 1 ? `Pay ${amount}` : `Pay ${amount} today`;
  }

  function notEnoughLeft() {
    return stock !== null && item !== null && stock < item.quantity;
  }

  function updateConfirm() {
    els.confirm.disabled = !quote || Boolean(buying) || !isConnected() || notEnoughLeft();
    els.planNow.disabled = Boolean(buying);
    els.planLater.disabled = Boolean(buying);
    els.close.disabled = false;
  }

  // -------------------------------------------------------------- buy

  function collectBuyer() {
    const saved = loadBuyer();
    if (saved && !editingDetails) return saved;
    const buyer = {};
    for (const field of BUYER_FIELDS) buyer[field] = input(field).value.trim();
    return buyer;
  }

  function checkLocally(buyer, payment) {
    const problems = {};
    for (const field of REQUIRED_FIELDS) {
      if (!buyer[field]) problems[field] = "Please fill this in.";
    }
    if (buyer.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(buyer.email)) {
      problems.email = "Check the email address (like name@example.com).";
    }
    if (payment !== null && !/^\d{12,19}$/.test(payment)) {
      problems.payment = "Type the card number: 12 to 19 digits.";
    }
    return problems;
  }

  function showFieldErrors(fields) {
    formError = true;
    const rest = [];
    let first = null;
    for (const [field, sentence] of Object.entries(fields)) {
      const target = field === "payment" ? els.card : input(field);
      const slot = fieldError(field);
      if (!target || !slot) {
        rest.push(String(sentence));
        continue;
      }
      slot.textContent = String(sentence);
      target.setAttribute("aria-invalid", "true");
      first = first || target;
    }
    return { first, rest };
  }

  function confirm(event) {
    event.preventDefault();
    if (els.confirm.disabled || !item || !quote) return;
    clearMessages();
    const buyer = collectBuyer();
    const saved = loadPayment();
    const usedSavedCard = Boolean(saved) && !editingCard;
    const card = usedSavedCard ? null : cardDigits(els.card.value);
    const problems = checkLocally(buyer, card);
    if (Object.keys(problems).length) {
      if (Object.keys(problems).some((f) => f !== "payment")) editingDetails = true;
      renderDetails();
      const { first } = showFieldErrors(problems);
      if (first) first.focus();
      return;
    }
    if (!attempt || !KEY_PATTERN.test(attempt.key)) {
      attempt = { key: newKey(), sku: item.variant.sku, quantity: item.quantity };
    }
    // The hub records a buyer's display name with an order; one who never chatted gets
    // their first name, as the fine print under the button says.
    if (!identity.name()) identity.adopt(firstName(buyer.name));
    buying = {
      usedSavedCard,
      message: {
        t: "buy",
        key: attempt.key,
        sku: item.variant.sku,
        quantity: item.quantity,
        buyer,
        payment: usedSavedCard ? saved.token : card,
        total: quote.total,
        plan,
        claim_id: item.claimId,
        auction_id: item.auctionId,
      },
    };
    sendBuy();
  }

  function sendBuy() {
    buying.ref = makeRef("buy");
    const sent = send({ ...buying.message, ref: buying.ref });
    els.notice.textContent = sent
      ? "Placing your order…"
      : "Waiting for the connection; your order goes through when it is back, and only once.";
    updateConfirm();
  }

  function confirmed(msg) {
    const done = buying;
    buying = null;
    attempt = null;
    storage.setJSON(BUYER_KEY, done.message.buyer);
    if (typeof msg.payment_token === "string" && msg.payment_token) {
      storage.setJSON(PAYMENT_KEY, {
        token: msg.payment_token,
        label: typeof msg.payment_label === "string" ? msg.payment_label : "Saved card",
      });
    }
    editingDetails = false;
    editingCard = false;
    els.card.value = "";
    showConfirmation(msg, done.message.buyer);
    onPurchased(msg);
  }

  function showConfirmation(msg, buyer) {
    const currency = msg.currency;
    els.confirmationLead.textContent = `Thanks, ${firstName(buyer.name) || "there"}! Your order is confirmed.`;
    els.confirmationId.textContent = String(msg.order_id ?? "");
    const label = item && item.variant.sku === msg.sku && item.label ? ` (${item.label})` : "";
    els.confirmationWhat.textContent = `${msg.quantity} × ${msg.title}${label}`;
    els.confirmationTotal.textContent = formatMoney(msg.total, currency);
    // What the hub charged: the first payment of the plan it confirms (all of it at once).
    const payments = validPlan(msg.instalments);
    els.confirmationPaid.textContent = formatMoney(
      payments.length ? payments[0].amount : msg.total,
      currency
    );
    renderPlan(
      {
        box: els.confirmationPlan,
        headline: els.confirmationPlanHeadline,
        list: els.confirmationPlanList,
        prefix: "Your plan:",
      },
      msg.instalments,
      currency,
      hubToday()
    );
    els.confirmationNote.textContent = `It goes to ${buyer.name}, ${buyer.city}.`;
    els.notice.textContent = "";
    els.form.hidden = true;
    els.confirmation.hidden = false;
    els.dialog.setAttribute("aria-labelledby", "confirmation-heading");
    if (!els.dialog.open) els.dialog.showModal();
    els.confirmationDone.focus();
  }

  function buyFailed(msg) {
    const failed = buying;
    buying = null;
    refused = msg.code !== "price_changed";
    els.notice.textContent = "";
    const message = String(msg.message || "The order did not go through.");
    const fields = msg.fields && typeof msg.fields === "object" ? msg.fields : {};
    switch (msg.code) {
      case "sold_out":
        stock = 0;
        onSoldOut(failed.message.sku, 0);
        els.error.textContent = "Sold out: it ran out during checkout; you were not charged.";
        break;
      case "price_changed":
        // Nothing was charged and nothing stored: the same key is fine for the retry.
        els.notice.textContent = msg.message
          ? message
          : "The price changed; check the new total and confirm again.";
        requestQuote();
        break;
      case "payment_declined":
        // The hub stored this attempt as failed: a new try is a new purchase.
        attempt = { key: newKey(), sku: failed.message.sku, quantity: failed.message.quantity };
        if (failed.usedSavedCard) storage.remove(PAYMENT_KEY);
        editingCard = true;
        els.card.value = "";
        renderDetails();
        els.error.textContent = message;
        els.card.focus();
        break;
      default: {
        if (Object.keys(fields).some((f) => BUYER_FIELDS.includes(f))) {
          editingDetails = true;
          renderDetails();
        }
        const { first, rest } = showFieldErrors(fields);
        els.error.textContent = rest.length ? rest.join(" ") : message;
        if (first) first.focus();
      }
    }
    updateConfirm();
  }

  // -------------------------------------------------------------- wiring

  fillCountries();

  els.form.addEventListener("submit", confirm);
  for (const choice of [els.planNow, els.planLater]) {
    choice.addEventListener("change", () => {
      if (!choice.checked || !quote || buying) return;
      plan = Number(choice.value) || 1;
      renderPlanChoice(quote.currency);
    });
  }
  els.changeDetails.addEventListener("click", () => {
    editingDetails = true;
    renderDetails();
    input("name").focus();
  });
  els.changeCard.addEventListener("click", () => {
    editingCard = true;
    renderDetails();
    els.card.focus();
  });
  for (const field of [...BUYER_FIELDS, "payment"]) {
    const box = field === "payment" ? els.card : input(field);
    box.addEventListener("input", () => {
      fieldError(field).textContent = "";
      box.removeAttribute("aria-invalid");
    });
  }
  const closeSheet = () => els.dialog.close();
  els.close.addEventListener("click", closeSheet);
  els.confirmationClose.addEventListener("click", closeSheet);
  els.confirmationDone.addEventListener("click", closeSheet);
  // A tap on the dimmed backdrop closes the sheet, as on every phone.
  els.dialog.addEventListener("click", (event) => {
    if (event.target === els.dialog) closeSheet();
  });
  els.dialog.addEventListener("close", () => {
    // Closed without paying: where this buyer stopped, for the team's funnel.
    if (item && !buying && !refused && els.confirmation.hidden) {
      send({ t: "checkout_closed", product_id: item.product.id, form_error: formError });
    }
    if (!buying) quote = null;
    onClosed();
  });

  return {
    open,

    busy() {
      return Boolean(buying);
    },

    handle(msg) {
      if (msg.t === "quote" && msg.ref === quoteRef) {
        quoteRef = null;
        quote = msg;
        stock = Number.isSafeInteger(msg.stock) ? msg.stock : stock;
        renderQuote();
      } else if (msg.t === "order_confirmed" && buying && msg.ref === buying.ref) {
        confirmed(msg);
      }
    },

    onReply(msg) {
      if (msg.t !== "error") return;
      if (buying && msg.ref === buying.ref) {
        buyFailed(msg);
      } else if (msg.ref === quoteRef) {
        quoteRef = null;
        if (msg.code === "sold_out") {
          stock = 0;
          els.error.textContent = "Sold out: there are none left of this one.";
        } else {
          els.error.textContent = String(msg.message || "The total could not be worked out.");
        }
        updateConfirm();
      }
    },

    stockChanged(sku, left) {
      // While our own order is in flight its reservation moves the stock: not news.
      if (!item || sku !== item.variant.sku || buying || !els.dialog.open || els.form.hidden) return;
      // Claimed units and a won lot are held for this viewer.
      if (item.claimId || item.auctionId) return;
      stock = left;
      if (left <= 0) {
        els.error.textContent = "Sold out: the last one just went; you were not charged.";
      } else if (left < item.quantity) {
        els.error.textContent = `Only ${left} left now; close this and lower the quantity.`;
      } else if (els.error.textContent.startsWith("Sold out") || els.error.textContent.startsWith("Only")) {
        els.error.textContent = "";
      }
      updateConfirm();
    },

    // The flash deal's countdown, repeated in the sheet: on a phone it covers the card.
    showDeal(productId, left) {
      const shown = Boolean(item && left && item.product.id === productId);
      els.deal.hidden = !shown;
      els.deal.textContent = shown ? `Flash deal · ends in ${left}` : "";
    },

    pricesChanged() {
      if (els.dialog.open && item && !buying && !els.form.hidden) requestQuote();
    },

    onConnected() {
      if (buying) sendBuy();
      else if (els.dialog.open && item && !els.form.hidden && !quote) requestQuote();
      else updateConfirm();
    },

    onDisconnected() {
      if (buying) {
        els.notice.textContent =
          "Connection lost; your order goes through when it is back, and only once.";
      }
      if (quoteRef) renderQuote();
      updateConfirm();
    },
  };
}
