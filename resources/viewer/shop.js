// The shoppable show on the viewer page: the pinned product card, the flash deal and its
// countdown, the shelf, reviews, the featured item over the video and the "just bought"
// line. It follows the hub's `show` messages, which carry the whole state (so a page that
// joins or resumes is right at once), and applies `stock`, `deal_end`, `review` and
// `order` events as they come. Paying is checkout.js's job. Every string from the network
// is set with textContent.

import { createAuction } from "./auction.js";
import { createCheckout } from "./checkout.js";
import { createGiveaway } from "./giveaway.js";
import { byId, el, elUser, stars, storage, userText } from "./dom.js";
import { formatMoney } from "./money.js";

const LOW_STOCK = 5;
const MAX_QUANTITY = 10;
const MAX_SHELF = 10;
const REVIEWS_SHOWN = 3;
// An order older than this is history being replayed, not news.
const PROOF_FRESH_S = 15;
// At most one "just bought" line this often: during a drop it would otherwise flicker.
const PROOF_EVERY_MS = 6000;
const PROOF_SHOW_MS = 4000;
const DEAL_ENDED_SHOW_MS = 8000;
const OWNED_KEY = "shopcast.owned";
const REVIEWED_KEY = "shopcast.reviewed";
const WIDE = window.matchMedia("(min-width: 1200px)");

const els = {
  app: byId("app"),
  shop: byId("shop"),
  card: byId("pinned-product"),
  image: byId("product-image"),
  vendor: byId("product-vendor"),
  title: byId("product-title"),
  price: byId("product-price"),
  compare: byId("compare-at"),
  compareAmount: byId("compare-at-amount"),
  deal: byId("deal"),
  countdown: byId("deal-countdown"),
  dealUnits: byId("deal-units"),
  stockNote: byId("stock-note"),
  soldOut: byId("sold-out"),
  buyForm: byId("buy-form"),
  variantField: byId("variant-field"),
  variantSelect: byId("variant-select"),
  variantLabel: byId("variant-label"),
  qty: byId("qty-input"),
  buyButton: byId("buy-button"),
  buyError: byId("buy-error"),
  reviews: byId("reviews"),
  reviewsStars: byId("reviews-stars"),
  reviewsAverage: byId("reviews-average"),
  reviewList: byId("review-list"),
  reviewForm: byId("review-form"),
  reviewText: byId("review-text"),
  reviewSubmit: byId("review-submit"),
  reviewError: byId("review-error"),
  reviewRatingError: byId("review-rating-error"),
  reviewTextError: byId("review-text-error"),
  reviewThanks: byId("review-thanks"),
  shelf: byId("shelf"),
  shelfList: byId("shelf-list"),
  preview: byId("shelf-preview"),
  previewImage: byId("shelf-preview-image"),
  previewTitle: byId("shelf-preview-title"),
  previewPrice: byId("shelf-preview-price"),
  previewText: byId("shelf-preview-text"),
  previewClose: byId("shelf-preview-close"),
  featured: byId("featured"),
  featuredKind: byId("featured-kind"),
  featuredText: byId("featured-text"),
  featuredAuthor: byId("featured-author"),
  featuredMark: byId("featured-mark"),
  proof: byId("proof"),
};

// ------------------------------------------------------------------ checks of hub data

function isProduct(p) {
  return (
    p &&
    typeof p === "object" &&
    typeof p.id === "string" &&
    typeof p.title === "string" &&
    typeof p.currency === "string" &&
    Array.isArray(p.variants) &&
    p.variants.length > 0
  );
}

function isDeal(d) {
  return (
    d &&
    typeof d === "object" &&
    typeof d.product_id === "string" &&
    Number.isSafeInteger(d.price) &&
    typeof d.ends === "number"
  );
}

export function imageUrl(image) {
  if (typeof image !== "string" || !image) return null;
  if (/^https:\/\//i.test(image)) return image;
  // A bare file name from the catalogue: served by the hub under /images/.
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(image)) return `/images/${encodeURIComponent(image)}`;
  return null;
}

function setImage(img, image) {
  const url = imageUrl(image);
  img.classList.toggle("placeholder", !url);
  if (url) {
    if (img.getAttribute("src") !== url) img.src = url;
  } else {
    img.removeAttribute("src");
  }
}

function variantLabel(product, variant) {
  const names = Array.isArray(product.options) && product.options.length
    ? product.options
    : Object.keys(variant.options || {});
  const values = names.map((name) => (variant.options || {})[name]).filter(Boolean);
  return values.join(" / ");
}

function hasChoice(product) {
  if (product.variants.length > 1) return true;
  const label = variantLabel(product, product.variants[0]);
  return Boolean(label) && label !== "Default";
}

function fromPrice(product) {
  const prices = product.variants.map((v) => v.price).filter(Number.isSafeInteger);
  if (!prices.length) return "";
  const lowest = Math.min(...prices);
  const text = formatMoney(lowest, product.currency);
  return prices.every((p) => p === lowest) ? text : `from ${text}`;
}

function stringSet(key) {
  const list = storage.getJSON(key);
  return new Set(Array.isArray(list) ? list.filter((x) => typeof x === "string") : []);
}

function rememberIn(set, key, value) {
  set.add(value);
  storage.setJSON(key, [...set].slice(-200));
}

function countdownText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

const averageFormat = new Intl.NumberFormat(navigator.language || "en", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

// ------------------------------------------------------------------ the shop

export function createShop({ send, hubClock, isConnected, identity }) {
  let refCounter = 0;
  const replies = new Map();
  let pinned = null;
  let shelf = [];
  let giveawayShown = false; // the giveaway panel is up (see createGiveaway)
  let deal = null;
  let featured = null;
  let selectedSku = null;
  let dealEnded = null; // { productId, at, reason } for the "Deal ended" note
  let dealTimer = null;
  let dealEndedTimer = null;
  let priceSignature = "";
  let previewId = null;
  let lastProofAt = 0;
  let proofTimer = null;
  let reviewedNow = null;
  const owned = stringSet(OWNED_KEY);
  const reviewed = stringSet(REVIEWED_KEY);
  const myOrders = new Set();
  let myViewerId = null; // from the hub's welcome

  function makeRef(kind) {
    refCounter += 1;
    const ref = `shop-${kind}-${Date.now().toString(36)}-${refCounter}`;
    replies.set(ref, kind);
    return ref;
  }

  // Countdowns agree for every viewer, whatever their phone's clock says (clock.js).
  const hubNow = hubClock.now;

  const checkout = createCheckout({
    makeRef,
    send,
    isConnected,
    identity,
    hubNow,
    onPurchased,
    onSoldOut: (sku, stock) => applyStock({ product_id: pinned?.id, sku, stock }),
    onClosed: updateBuyButton,
  });

  // -------------------------------------------------------------- state from the hub

  function applyShow(msg) {
    const next = isProduct(msg.pinned) ? msg.pinned : null;
    const samePin = Boolean(pinned && next && pinned.id === next.id);
    const nextDeal = isDeal(msg.deal) ? msg.deal : null;
    if (!nextDeal && deal && samePin && deal.product_id === next.id) {
      markDealEnded(deal.product_id, "host");
    }
    pinned = next;
    shelf = Array.isArray(msg.shelf) ? msg.shelf.filter(isProduct).slice(0, MAX_SHELF) : [];
    deal = nextDeal;
    if (deal) dealEnded = null;
    featured = msg.featured && typeof msg.featured === "object" ? msg.featured : null;
    if (!samePin) {
      selectedSku = null;
      els.buyError.textContent = "";
      els.qty.value = "1";
      els.reviews.open = WIDE.matches;
      resetReviewForm();
    }
    render();
    pricesMayHaveChanged();
  }

  function applyStock(msg) {
    if (typeof msg.sku !== "string" || !Number.isSafeInteger(msg.stock)) return;
    for (const product of [pinned, ...shelf]) {
      if (!product || (msg.product_id && product.id !== msg.product_id)) continue;
      const variant = product.variants.find((v) => v.sku === msg.sku);
      if (variant) variant.stock = Math.max(0, msg.stock);
    }
    if (pinned && pinned.variants.some((v) => v.sku === msg.sku)) {
      renderVariants();
      renderStock();
    }
    renderShelf();
    checkout.stockChanged(msg.sku, Math.max(0, msg.stock));
  }

  function applyDealEnd(msg) {
    if (!deal || deal.product_id !== msg.product_id) return;
    deal = null;
    markDealEnded(msg.product_id, String(msg.reason || ""));
    renderPrice();
    pricesMayHaveChanged();
  }

  function markDealEnded(productId, reason) {
    dealEnded = { productId, reason };
    clearTimeout(dealEndedTimer);
    dealEndedTimer = setTimeout(() => {
      dealEnded = null;
      renderDeal();
    }, DEAL_ENDED_SHOW_MS);
  }

  function applyReview(msg) {
    if (!pinned || msg.product_id !== pinned.id || !msg.review || typeof msg.review !== "object") {
      return;
    }
    const reviews = Array.isArray(pinned.reviews) ? pinned.reviews : [];
    if (reviews.some((r) => r.id === msg.review.id)) return;
    pinned.reviews = [...reviews, msg.review];
    renderReviews();
  }

  // -------------------------------------------------------------- the pinned card

  function selectedVariant() {
    if (!pinned) return null;
    return (
      pinned.variants.find((v) => v.sku === selectedSku) ||
      pinned.variants.find((v) => v.stock > 0) ||
      pinned.variants[0]
    );
  }

  function dealSecondsLeft() {
    return deal ? hubClock.leftToSend(deal.ends) : 0;
  }

  function dealActive() {
    if (!deal || !pinned || deal.product_id !== pinned.id) return false;
    if (deal.max_units != null && (deal.sold || 0) >= deal.max_units) return false;
    return dealSecondsLeft() > 0;
  }

  function render() {
    // A giveaway needs no product: it keeps the shop's panel open on its own.
    const hasShop = Boolean(pinned) || shelf.length > 0 || giveawayShown;
    els.shop.hidden = !hasShop;
    els.app.classList.toggle("has-shop", hasShop);
    renderCard();
    renderShelf();
    renderFeatured();
  }

  function renderCard() {
    if (!pinned) {
      els.card.hidden = true;
      renderDeal();
      return;
    }
    els.card.hidden = false;
    setImage(els.image, pinned.image);
    els.vendor.replaceChildren(userText(pinned.vendor || ""));
    els.title.replaceChildren(userText(pinned.title));
    renderVariants();
    renderPrice();
    renderStock();
    renderReviews();
    renderReviewForm();
  }

  function renderVariants() {
    const variant = selectedVariant();
    els.variantField.hidden = !hasChoice(pinned);
    const names = Array.isArray(pinned.options) ? pinned.options.filter(Boolean) : [];
    els.variantLabel.textContent = names.length ? `Choose ${names.join(" and ").toLowerCase()}` : "Choose";
    const options = pinned.variants.map((v) => {
      let text = variantLabel(pinned, v) || v.sku;
      if (v.stock <= 0) text += " (sold out)";
      else if (v.stock <= LOW_STOCK) text += ` (${v.stock} left)`;
      const option = el("option", "", text);
      option.value = v.sku;
      return option;
    });
    els.variantSelect.replaceChildren(...options);
    els.variantSelect.value = variant.sku;
    selectedSku = variant.sku;
  }

  function renderPrice() {
    if (!pinned) return;
    const variant = selectedVariant();
    const onDeal = dealActive();
    const price = onDeal ? deal.price : variant.price;
    let was = null;
    if (onDeal) was = variant.price;
    else if (Number.isSafeInteger(variant.compare_at) && variant.compare_at > variant.price) {
      was = variant.compare_at;
    }
    els.price.textContent = formatMoney(price, pinned.currency);
    els.price.classList.toggle("on-deal", onDeal);
    els.compare.hidden = was === null;
    els.compareAmount.textContent = was === null ? "" : formatMoney(was, pinned.currency);
    renderDeal();
  }

  function renderDeal() {
    const running = Boolean(pinned && deal && deal.product_id === pinned.id);
    const endedHere = Boolean(pinned && dealEnded && dealEnded.productId === pinned.id);
    els.deal.hidden = !running && !endedHere;
    if (running && dealActive()) {
      els.deal.classList.remove("ended");
      els.countdown.textContent = countdownText(dealSecondsLeft());
      checkout.showDeal(deal.product_id, countdownText(dealSecondsLeft()));
      els.countdown.setAttribute("aria-label", `Deal ends in ${countdownText(dealSecondsLeft())}`);
      if (deal.max_units != null) {
        const left = Math.max(0, deal.max_units - (deal.sold || 0));
        els.dealUnits.textContent = `${left} of ${deal.max_units} left at this price`;
      } else {
        els.dealUnits.textContent = "";
      }
      startDealTimer();
    } else if (running || endedHere) {
      checkout.showDeal(null, null);
      els.deal.classList.add("ended");
      els.countdown.textContent = "Deal ended";
      els.countdown.removeAttribute("aria-label");
      const soldOut = running ? deal.max_units != null : dealEnded.reason === "sold";
      els.dealUnits.textContent = soldOut ? "All deal units are gone" : "";
      stopDealTimer();
    } else {
      checkout.showDeal(null, null);
      stopDealTimer();
    }
  }

  function startDealTimer() {
    if (dealTimer !== null) return;
    dealTimer = setInterval(() => {
      if (!dealActive()) {
        // The hub's clock ran out: show the regular price now; its deal_end follows.
        stopDealTimer();
        renderPrice();
        pricesMayHaveChanged();
        return;
      }
      els.countdown.textContent = countdownText(dealSecondsLeft());
      checkout.showDeal(deal.product_id, els.countdown.textContent);
    }, 250);
  }

  function stopDealTimer() {
    clearInterval(dealTimer);
    dealTimer = null;
  }

  function renderStock() {
    const variant = selectedVariant();
    const soldOut = variant.stock <= 0;
    els.soldOut.hidden = !soldOut;
    els.stockNote.hidden = soldOut;
    els.stockNote.classList.toggle("low", variant.stock <= LOW_STOCK);
    els.stockNote.textContent = variant.stock <= LOW_STOCK ? `Only ${variant.stock} left` : "In stock";
    els.qty.max = String(Math.max(1, Math.min(MAX_QUANTITY, variant.stock)));
    renderJoinLine();
    updateBuyButton();
  }

  function updateBuyButton() {
    const variant = selectedVariant();
    els.buyButton.disabled = !variant || variant.stock <= 0 || !isConnected() || checkout.busy();
  }

  // Tell the checkout only when what a quote depends on changed: during a drop the show
  // state changes with every sale (the deal's sold count).
  function pricesMayHaveChanged() {
    const active = dealActive();
    const parts = [pinned?.id, active && deal.price, active && deal.ends];
    for (const v of pinned?.variants || []) parts.push(v.sku, v.price);
    const signature = JSON.stringify(parts);
    if (signature === priceSignature) return;
    priceSignature = signature;
    checkout.pricesChanged();
  }

  // -------------------------------------------------------------- reviews

  function renderReviews() {
    const reviews = (Array.isArray(pinned.reviews) ? pinned.reviews : []).filter(
      (r) => r && typeof r === "object" && Number.isFinite(r.rating)
    );
    els.reviews.hidden = reviews.length === 0;
    if (!reviews.length) return;
    const average = reviews.reduce((sum, r) => sum + r.rating, 0) / reviews.length;
    els.reviewsStars.textContent = stars(average);
    els.reviewsAverage.textContent = `${averageFormat.format(average)} · ${
      reviews.length === 1 ? "1 review" : `${reviews.length} reviews`
    }`;
    els.reviewsAverage.setAttribute(
      "aria-label",
      `Rated ${averageFormat.format(average)} out of 5 from ${reviews.length} reviews`
    );
    const newest = [...reviews]
      .sort((a, b) => String(b.created || "").localeCompare(String(a.created || "")))
      .slice(0, REVIEWS_SHOWN);
    els.reviewList.replaceChildren(...newest.map(reviewItem));
  }

  function reviewItem(review) {
    const item = el("li", "review");
    const head = el("p", "review-head");
    const rating = el("span", "stars", stars(review.rating));
    rating.setAttribute("role", "img");
    rating.setAttribute("aria-label", `${review.rating} out of 5 stars`);
    head.append(rating, elUser("span", "review-author", review.author));
    if (review.verified_owner) head.append(el("span", "owner-mark", "Verified owner"));
    item.append(head, elUser("p", "review-text", review.text));
    return item;
  }

  function renderReviewForm() {
    const id = pinned?.id;
    const canReview = Boolean(id) && owned.has(id) && !reviewed.has(id);
    els.reviewForm.hidden = !canReview;
    els.reviewThanks.hidden = !(id && reviewedNow === id);
  }

  function resetReviewForm() {
    els.reviewForm.reset();
    els.reviewSubmit.disabled = false;
    for (const node of [els.reviewError, els.reviewRatingError, els.reviewTextError]) {
      node.textContent = "";
    }
  }

  function submitReview(event) {
    event.preventDefault();
    if (!pinned) return;
    const checked = els.reviewForm.querySelector("input[name=rating]:checked");
    const rating = checked ? Number(checked.value) : 0;
    const text = els.reviewText.value.trim();
    els.reviewRatingError.textContent = rating ? "" : "Choose 1 to 5 stars.";
    els.reviewTextError.textContent = text ? "" : "Write a few words about it.";
    els.reviewError.textContent = "";
    if (!rating || !text) return;
    const ref = makeRef("review");
    replies.set(ref, { kind: "review", productId: pinned.id });
    if (send({ t: "review", product_id: pinned.id, rating, text, ref })) {
      els.reviewSubmit.disabled = true;
    } else {
      replies.delete(ref);
      els.reviewError.textContent = "Not connected; try again in a moment.";
    }
  }

  function reviewAnswered(entry, msg) {
    els.reviewSubmit.disabled = false;
    if (msg.t === "ack") {
      rememberIn(reviewed, REVIEWED_KEY, entry.productId);
      reviewedNow = entry.productId;
      els.reviewThanks.textContent = msg.held
        ? "Thanks! A moderator will look at your review before it appears."
        : "Thanks! Your review is live.";
      resetReviewForm();
      renderReviewForm();
      return;
    }
    const fields = msg.fields && typeof msg.fields === "object" ? msg.fields : {};
    els.reviewRatingError.textContent = fields.rating ? String(fields.rating) : "";
    els.reviewTextError.textContent = fields.text ? String(fields.text) : "";
    if (!fields.rating && !fields.text) {
      els.reviewError.textContent = String(msg.message || "The review could not be posted.");
    }
  }

  function onPurchased(confirmed) {
    myOrders.add(confirmed.order_id);
    if (typeof confirmed.product_id === "string") {
      rememberIn(owned, OWNED_KEY, confirmed.product_id);
    }
    if (pinned) renderReviewForm();
    updateBuyButton();
  }

  // -------------------------------------------------------------- claims ("sold M")

  // The hub answers a claim comment to this viewer alone: a card for units held until
  // its expiry (the hub's clock), or a question when the comment did not say which.
  const claims = new Map(); // claim_id -> the hub's claim_card
  const waits = new Map(); // sku -> the hub's claim_wait: this viewer's place in line
  let claimQuestion = "";
  let claimTimer = null;
  let claimsProduct = null; // the product the host takes claims on (`claims`), or null
  const claimList = el("div", "claims");
  claimList.dataset.testid = "claims";
  claimList.setAttribute("aria-live", "polite");
  els.buyError.after(claimList);
  // A sold-out variant of the claims product: a place in its line (docs/protocol.md).
  const joinLine = el("button", "button button-quiet join-waitlist", "Join the waitlist");
  joinLine.type = "button";
  joinLine.dataset.testid = "join-waitlist";
  joinLine.hidden = true;
  joinLine.addEventListener("click", () => {
    const variant = selectedVariant();
    if (!variant) return;
    joinLine.disabled = true;
    send({ t: "join_waitlist", sku: variant.sku, ref: makeRef("waitlist") });
  });
  els.soldOut.after(joinLine);

  function renderJoinLine() {
    const variant = pinned && selectedVariant();
    joinLine.hidden = !(
      variant &&
      variant.stock <= 0 &&
      claimsProduct === pinned.id &&
      !waits.has(variant.sku) &&
      ![...claims.values()].some((c) => c.sku === variant.sku)
    );
    joinLine.disabled = false;
  }

  function applyClaim(msg) {
    if (msg.t === "claim_card") {
      claims.set(msg.claim_id, msg);
      if (msg.offered) waits.delete(msg.sku);
      claimQuestion = "";
    } else if (msg.t === "claim_wait") {
      waits.set(msg.sku, msg);
    } else if (msg.t === "claim_wait_end") {
      waits.delete(msg.sku);
      claimQuestion = ""; // its place in line is no longer theirs
    } else if (msg.t === "claim_end") {
      claims.delete(msg.claim_id);
    } else if (msg.t === "claims") {
      claimsProduct = msg.on ? msg.product_id : null;
    } else {
      claimQuestion = String(msg.message || "");
    }
    renderClaims();
    renderJoinLine();
  }

  // A refused join or release says why where the claims are; an ack waits for its event.
  function claimAnswered(msg) {
    if (msg.t === "error") claimQuestion = String(msg.message || "That did not work.");
    renderClaims();
    renderJoinLine();
  }

  function renderClaims() {
    claimList.replaceChildren();
    if (claimQuestion) {
      const ask = el("p", "claim-ask", claimQuestion);
      ask.dataset.testid = "claim-ask";
      claimList.append(ask);
    }
    for (const wait of waits.values()) {
      const what = wait.label ? `${wait.title} (${wait.label})` : wait.title;
      const line = elUser("p", "claim-wait", what);
      line.dataset.testid = "claim-wait";
      line.prepend("In line for ");
      line.append(": if one comes back, it is held for you here. ");
      const leave = el("button", "link-button claim-leave", "Leave the line");
      leave.type = "button";
      leave.dataset.testid = "leave-waitlist";
      leave.addEventListener("click", () => {
        leave.disabled = true;
        send({ t: "leave_waitlist", sku: wait.sku, ref: makeRef("waitlist") });
      });
      line.append(leave);
      claimList.append(line);
    }
    for (const card of claims.values()) {
      const left = Math.max(0, Math.ceil(card.expires - hubNow()));
      const box = el("div", "claim-card");
      box.dataset.testid = "claim-card";
      const what = card.label ? `${card.title} (${card.label})` : card.title;
      box.append(
        elUser("p", "claim-title", what),
        el(
          "p",
          "claim-meta",
          `Qty ${card.quantity} · ${formatMoney(card.unit_price * card.quantity, card.currency)}`
        ),
        el(
          "p",
          "claim-expiry",
          `${card.offered ? "Back in stock for you" : "Held for you"}: ` +
            `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left to pay`
        )
      );
      const pay = el("button", "button claim-pay", "Pay");
      pay.type = "button";
      pay.dataset.testid = "claim-pay";
      pay.disabled = left <= 0;
      pay.addEventListener("click", () => payClaim(card));
      const letGo = el("button", "link-button claim-release", "Let it go");
      letGo.type = "button";
      letGo.dataset.testid = "claim-release";
      letGo.addEventListener("click", () => {
        letGo.disabled = true;
        send({ t: "release_claim", claim_id: card.claim_id, ref: makeRef("claim") });
      });
      box.append(pay, letGo);
      claimList.append(box);
    }
    clearTimeout(claimTimer);
    if (claims.size) claimTimer = setTimeout(renderClaims, 1000);
  }

  // -------------------------------------------------------------- auctions

  const auction = createAuction({
    send,
    makeRef,
    hubClock,
    viewerId: () => myViewerId,
    onPay: payLot,
  });
  claimList.after(auction.element);
  const giveaway = createGiveaway({
    send,
    makeRef,
    hubClock,
    viewerId: () => myViewerId,
    onShown(shown) {
      giveawayShown = shown;
      render();
    },
  });
  els.card.after(giveaway.element);

  function payLot(lot) {
    const product = pinned && pinned.id === lot.product_id ? pinned : null;
    const variant = product && product.variants.find((v) => v.sku === lot.sku);
    checkout.open({
      product: product || { id: lot.product_id, title: lot.title },
      // The lot is this viewer's, whatever the shelf has left for others.
      variant: { ...(variant || { sku: lot.sku, options: {} }), stock: 1 },
      quantity: 1,
      label: lot.label,
      image: imageUrl(lot.image || (product && product.image)),
      auctionId: lot.auction_id,
    });
  }

  function payClaim(card) {
    const product = pinned && pinned.id === card.product_id ? pinned : null;
    const variant = product && product.variants.find((v) => v.sku === card.sku);
    checkout.open({
      product: product || { id: card.product_id, title: card.title },
      // The held units are this viewer's, whatever the shelf has left for others.
      variant: { ...(variant || { sku: card.sku, options: {} }), stock: card.quantity },
      quantity: card.quantity,
      label: card.label,
      image: imageUrl(card.image || (product && product.image)),
      claimId: card.claim_id,
    });
  }

  // -------------------------------------------------------------- shelf

  function renderShelf() {
    const others = shelf.filter((p) => !pinned || p.id !== pinned.id);
    els.shelf.hidden = others.length === 0;
    els.shelfList.replaceChildren(...others.map(shelfItem));
    const previewed = others.find((p) => p.id === previewId);
    if (previewed) showPreview(previewed);
    else hidePreview();
  }

  function shelfItem(product) {
    const item = el("li", "shelf-entry");
    const button = el("button", "shelf-item");
    button.type = "button";
    button.setAttribute("aria-expanded", String(product.id === previewId));
    const img = el("img", "shelf-image");
    img.alt = "";
    img.width = 56;
    img.height = 56;
    img.loading = "lazy";
    setImage(img, product.image);
    const soldOut = product.variants.every((v) => v.stock <= 0);
    button.append(
      img,
      elUser("span", "shelf-title", product.title),
      el("span", "shelf-price", soldOut ? "Sold out" : fromPrice(product))
    );
    button.addEventListener("click", () => {
      previewId = previewId === product.id ? null : product.id;
      renderShelf();
    });
    item.append(button);
    return item;
  }

  function showPreview(product) {
    setImage(els.previewImage, product.image);
    els.previewTitle.replaceChildren(userText(product.title));
    els.previewPrice.textContent = fromPrice(product);
    els.previewText.replaceChildren(
      product.description ? userText(product.description) : "Ask about it in the chat."
    );
    els.preview.hidden = false;
  }

  function hidePreview() {
    previewId = null;
    els.preview.hidden = true;
  }

  // -------------------------------------------------------------- over the video

  function renderFeatured() {
    if (!featured) {
      els.featured.hidden = true;
      return;
    }
    const review = featured.kind === "review";
    const rating = Number.isFinite(featured.rating) ? ` ${stars(featured.rating)}` : "";
    els.featuredKind.textContent = review ? `Owner review${rating}` : "From the chat";
    els.featuredText.replaceChildren(userText(featured.text));
    els.featuredAuthor.replaceChildren(userText(featured.author));
    const mark = review ? featured.verified_owner && "Verified owner" : featured.owner && "Owner";
    els.featuredMark.textContent = mark || "";
    els.featuredMark.hidden = !mark;
    els.featured.classList.toggle("featured-review", review);
    els.featured.hidden = false;
  }

  function showProof(msg) {
    if (myOrders.has(msg.order_id) || typeof msg.ts !== "number") return;
    if (hubNow() - msg.ts > PROOF_FRESH_S) return;
    const now = Date.now();
    if (now - lastProofAt < PROOF_EVERY_MS) return;
    lastProofAt = now;
    // The hub announces a sale under the buyer's chat name (public already); the first
    // word keeps the line short, and an older hub's checkout name out of sight.
    const first = String(msg.name || "").trim().split(/\s+/)[0].slice(0, 24) || "Someone";
    const what = msg.quantity > 1 ? `${msg.quantity} × ${msg.title}` : String(msg.title ?? "");
    els.proof.replaceChildren(userText(first), " just bought ", userText(what));
    els.proof.hidden = false;
    clearTimeout(proofTimer);
    proofTimer = setTimeout(() => {
      els.proof.hidden = true;
    }, PROOF_SHOW_MS);
  }

  // -------------------------------------------------------------- viewer input

  // A viewer who looks closer at the pinned product (its reviews, a variant) is a step
  // of the team's funnel (docs/protocol.md, `browse`); once per product and kind.
  const browsed = new Set();
  function browse(reviews) {
    const key = pinned && `${pinned.id}:${reviews}`;
    if (!key || browsed.has(key)) return;
    browsed.add(key);
    send({ t: "browse", product_id: pinned.id, reviews });
  }
  els.reviews.querySelector("summary").addEventListener("click", () => {
    if (!els.reviews.open) browse(true);
  });

  els.variantSelect.addEventListener("change", () => {
    browse(false);
    selectedSku = els.variantSelect.value;
    els.buyError.textContent = "";
    renderPrice();
    renderStock();
  });

  els.qty.addEventListener("input", () => {
    els.buyError.textContent = "";
  });

  els.buyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const variant = selectedVariant();
    if (!variant || els.buyButton.disabled) return;
    const quantity = Number(els.qty.value);
    if (!Number.isInteger(quantity) || quantity < 1) {
      els.buyError.textContent = "Choose how many: 1 or more.";
      return;
    }
    const most = Math.min(MAX_QUANTITY, variant.stock);
    if (quantity > most) {
      els.buyError.textContent =
        variant.stock < MAX_QUANTITY
          ? `Only ${variant.stock} left; lower the quantity.`
          : `Up to ${MAX_QUANTITY} at a time.`;
      return;
    }
    els.buyError.textContent = "";
    checkout.open({
      product: pinned,
      variant,
      quantity,
      label: hasChoice(pinned) ? variantLabel(pinned, variant) : "",
      image: imageUrl(pinned.image),
    });
    updateBuyButton();
  });

  els.reviewForm.addEventListener("submit", submitReview);
  els.previewClose.addEventListener("click", () => {
    hidePreview();
    renderShelf();
  });

  // -------------------------------------------------------------- the app's side

  return {
    onWelcome(msg) {
      if (typeof msg.viewer_id === "string") myViewerId = msg.viewer_id;
      updateBuyButton();
      checkout.onConnected();
    },

    onDisconnected() {
      updateBuyButton();
      checkout.onDisconnected();
    },

    // Messages from the hub; returns false for those that are not the shop's.
    handle(msg) {
      switch (msg.t) {
        case "show":
          applyShow(msg);
          return true;
        case "stock":
          applyStock(msg);
          return true;
        case "deal_end":
          applyDealEnd(msg);
          return true;
        case "review":
          applyReview(msg);
          return true;
        case "order":
          showProof(msg);
          return true;
        case "claim_card":
        case "claim_end":
        case "claim_wait":
        case "claim_wait_end":
        case "claim_ask":
          applyClaim(msg);
          return true;
        case "claims":
          applyClaim(msg);
          return true;
        case "auction":
        case "auction_bid":
          auction.apply(msg);
          return true;
        case "giveaway":
        case "giveaway_entry":
          giveaway.apply(msg);
          return true;
        case "quote":
        case "order_confirmed":
          replies.delete(msg.ref);
          checkout.handle(msg);
          return true;
        default:
          return false;
      }
    },

    owns(ref) {
      return typeof ref === "string" && replies.has(ref);
    },

    // An ack or error answering one of the shop's requests.
    onReply(msg) {
      const entry = replies.get(msg.ref);
      replies.delete(msg.ref);
      if (entry && entry.kind === "review") reviewAnswered(entry, msg);
      else if (entry === "bid") auction.answered(msg);
      else if (entry === "giveaway") giveaway.answered(msg);
      else if (entry === "waitlist" || entry === "claim") claimAnswered(msg);
      else checkout.onReply(msg);
      updateBuyButton();
    },
  };
}
