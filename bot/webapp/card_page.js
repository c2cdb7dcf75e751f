// The card page's script (served by the bot as /card/page.js, so the page's CSP allows no inline script).
// The card number goes from here straight to Payme; the bot gets only the verified token, with the page's one-time
// session and Telegram's signed initData.
//
// Inside a Telegram client the Mini App's main button submits each step, and the page's own submit buttons are
// hidden: Telegram draws its button above the keyboard in the user's theme, where a page button would be scrolled
// away, and two buttons doing one thing would be one too many. Outside Telegram (a plain browser, an old client
// without the button) the page's own buttons stay: they are the only way on.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("config").textContent);
  const t = config.texts;
  const byId = (id) => document.getElementById(id);
  const root = document.documentElement;
  const message = byId("message");
  const app = window.Telegram && window.Telegram.WebApp;
  // Telegram's script is loaded in a plain browser too; there it has no initData and its platform is "unknown".
  const mainButton = app && app.MainButton && app.initData && app.platform && app.platform !== "unknown"
    ? app.MainButton : null;
  let step = document.body.dataset.step;  // card -> code -> added
  let token = null;
  let verified = false;  // Payme verified `token`: a retry only posts it to the bot again
  let sending = false;
  let sticky = false;  // the message is a notice that stays (not opened by Telegram, a used page)
  let requestId = 0;
  let timer = null;

  // ---- Telegram's theme --------------------------------------------------------------------------------------
  const THEME = {bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
                 button_color: "--accent", button_text_color: "--accent-text", secondary_bg_color: "--field-bg",
                 destructive_text_color: "--error"};
  const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  function themeColor(key) {
    const value = app && app.themeParams && app.themeParams[key];
    return typeof value === "string" && COLOR.test(value) ? value : null;
  }

  // Colours Telegram does not send keep the stylesheet's defaults for the scheme it names.
  function applyTheme() {
    if (!app) return;
    if (app.colorScheme === "dark" || app.colorScheme === "light") root.dataset.scheme = app.colorScheme;
    for (const key of Object.keys(THEME)) {
      const color = themeColor(key);
      if (color) root.style.setProperty(THEME[key], color);
      else root.style.removeProperty(THEME[key]);
    }
    syncMainButton(true);
  }

  function haptic(kind) {
    try {
      if (app && app.HapticFeedback) app.HapticFeedback.notificationOccurred(kind);
    } catch (e) { /* an old client: no haptics */ }
  }

  // ---- messages and field errors -----------------------------------------------------------------------------
  function show(text, isError, stays) {
    message.textContent = text || "";
    message.className = "message" + (isError ? " error" : "");
    sticky = !!stays;
  }

  function fieldError(id, text) {
    byId(id + "-error").textContent = text || "";
    if (text) byId(id).setAttribute("aria-invalid", "true");
    else byId(id).removeAttribute("aria-invalid");
  }

  // Editing a field takes back what was said about it, and an error of the last attempt.
  function edited(id) {
    fieldError(id, "");
    if (!sticky && message.classList.contains("error")) show("", false);
    syncMainButton();
  }

  // ---- the fields --------------------------------------------------------------------------------------------
  function digits(text) { return (text || "").replace(/\D/g, ""); }

  function luhn(number) {
    let total = 0;
    for (let i = 0; i < number.length; i++) {
      let n = +number[number.length - 1 - i];
      if (i % 2) { n *= 2; if (n > 9) n -= 9; }
      total += n;
    }
    return total % 10 === 0;
  }

  function brandOf(number) {
    const found = config.brands.find((pair) => number.startsWith(pair[0]));
    return found ? found[1] : "";
  }

  const problems = {
    number: (value) => value.length !== 16 ? t.bad_number : (luhn(value) ? "" : t.bad_luhn),
    expiry: (value) => value.length !== 4 || +value.slice(0, 2) < 1 || +value.slice(0, 2) > 12 ? t.bad_expiry : "",
    code: (value) => value.length === 6 ? "" : t.bad_code,
  };
  const problem = (id) => problems[id](digits(byId(id).value));

  function showBrand(number) {
    const brand = byId("brand");
    const name = brandOf(number);
    brand.textContent = name;
    brand.hidden = !name;
  }

  byId("number").addEventListener("input", (event) => {
    const value = digits(event.target.value).slice(0, 16);
    event.target.value = value.replace(/(\d{4})(?=\d)/g, "$1 ");
    showBrand(value);
    edited("number");
    if (value.length === 16 && !luhn(value)) fieldError("number", t.bad_luhn);  // a typo is told at once
  });
  byId("expiry").addEventListener("input", (event) => {
    const value = digits(event.target.value).slice(0, 4);
    event.target.value = value.length > 2 ? value.slice(0, 2) + "/" + value.slice(2) : value;
    edited("expiry");
  });
  byId("code").addEventListener("input", (event) => {
    event.target.value = digits(event.target.value).slice(0, 6);
    edited("code");
  });
  // Leaving a field half typed says what is missing: the main button stays disabled until it is right.
  for (const id of ["number", "expiry", "code"]) {
    byId(id).addEventListener("blur", () => { if (digits(byId(id).value)) fieldError(id, problem(id)); });
  }

  // ---- Telegram's main button --------------------------------------------------------------------------------
  let shownText = null;

  function valid() {
    if (config.notice || !initData()) return false;
    if (step === "card") return !problem("number") && !problem("expiry");
    if (step === "code") return verified || !problem("code");
    return false;
  }

  function syncMainButton(recolour) {
    if (!mainButton || sending) return;
    if (config.notice || (step !== "card" && step !== "code")) { mainButton.hide(); return; }
    const text = step === "card" ? t.continue : t.confirm;
    if (text !== shownText) { mainButton.setText(text); shownText = text; }
    const active = valid();
    if (active !== mainButton.isActive || recolour) {
      if (active) mainButton.enable(); else mainButton.disable();
      // Not every client greys out a disabled main button: it is drawn in the theme's quiet colours instead.
      mainButton.setParams(active
        ? {color: themeColor("button_color") || "#2481cc", text_color: themeColor("button_text_color") || "#ffffff"}
        : {color: themeColor("secondary_bg_color") || "#e5e5ea", text_color: themeColor("hint_color") || "#8e8e93"});
    }
    if (!mainButton.isVisible) mainButton.show();
  }

  function onMainButton() {
    if (step === "card") submitCard();
    else if (step === "code") submitCode();
  }

  // One attempt at a time: the page's button and Telegram's show that it is under way.
  async function working(button, job) {
    if (sending) return;
    sending = true;
    button.disabled = true;
    show(t.busy, false);
    if (mainButton) mainButton.showProgress(false);
    try {
      await job();
    } catch (error) {
      show(error.message, true);
      haptic("error");
    } finally {
      sending = false;
      button.disabled = false;
      if (mainButton) mainButton.hideProgress();  // which makes it active again: syncMainButton says what it is
      syncMainButton(true);
    }
  }

  // ---- the talk with Payme and the bot -----------------------------------------------------------------------
  function initData() {
    if (app && app.initData) return app.initData;
    const hash = new URLSearchParams(location.hash.slice(1));
    return hash.get("tgWebAppData") || "";
  }

  function paymeText(error) {
    const text = error && error.message;
    if (text && typeof text === "object") return text[config.lang] || text.ru || Object.values(text)[0] || t.no_answer;
    return text || t.no_answer;
  }

  // Payme's front-end methods, straight from this browser: the merchant id is the only credential they take.
  async function payme(method, params) {
    let response;
    try {
      response = await fetch(config.paymeUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Auth": config.merchantId, "Accept-Language": config.lang},
        body: JSON.stringify({jsonrpc: "2.0", id: ++requestId, method: method, params: params}),
      });
    } catch (e) {
      throw new Error(t.no_answer);
    }
    const body = await response.json().catch(() => null);
    if (!body) throw new Error(t.no_answer);
    if (body.error) throw new Error(paymeText(body.error));
    return body.result;
  }

  // The verified token to the bot. Every answer of the bot is JSON with a message in the user's language.
  async function handOver() {
    let response;
    try {
      response = await fetch(config.tokenUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({session: config.session, initData: initData(), token: token, lang: config.lang}),
      });
    } catch (e) {
      throw new Error(t.no_answer);
    }
    const body = await response.json().catch(() => null);
    if (!body) throw new Error(t.no_answer);
    if (!body.ok) throw new Error(body.message || t.no_answer);
    return body;
  }

  // The phone Payme names, as bot.texts.formats.phone shows a provider's masked value: only what Payme revealed.
  function phoneShown(raw) {
    const text = String(raw || "").replace(/[\s()\-]/g, "").replace(/^\+/, "");
    if (/^998[0-9*•xX●∗·]{9}$/.test(text)) {
      const shown = /^\d+$/.test(text) ? text.slice(0, 5) + "*****" + text.slice(10) : text.replace(/\D/g, "*");
      const groups = [shown.slice(0, 3), shown.slice(3, 5), shown.slice(5, 8), shown.slice(8, 10), shown.slice(10)];
      return "+" + groups.join(" ");
    }
    const tail = /(\d+)$/.exec(text);
    return tail ? "•••• " + tail[1] : String(raw || "");
  }

  function countdown(waitMs) {
    const resend = byId("resend");
    let left = Math.ceil(waitMs / 1000);
    resend.disabled = true;
    clearInterval(timer);
    const tick = () => {
      if (left <= 0) { clearInterval(timer); resend.disabled = false; resend.textContent = t.resend; return; }
      resend.textContent = t.resend_in.replace("{seconds}", left);
      left -= 1;
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  async function askCode() {
    const sent = await payme("cards.get_verify_code", {token: token});
    byId("code-sent").textContent = t.code_sent.replace("{phone}", phoneShown(sent.phone));
    countdown(sent.wait);
  }

  function goTo(next) {
    step = next;
    document.body.dataset.step = next;
    syncMainButton();
  }

  async function submitCard() {
    if (config.notice) { show(config.notice, true, true); return; }
    const wrong = ["number", "expiry"].filter((id) => { const text = problem(id); fieldError(id, text); return text; });
    if (wrong.length) { byId(wrong[0]).focus(); haptic("error"); return; }
    if (!initData()) { show(t.not_in_telegram, true, true); return; }
    await working(byId("continue"), async () => {
      const number = digits(byId("number").value);
      const expiry = digits(byId("expiry").value);
      const created = await payme("cards.create", {card: {number: number, expire: expiry}, save: true});
      token = created.card.token;
      verified = false;
      byId("number").value = "";  // the number is not kept on the page once Payme has it
      byId("expiry").value = "";
      showBrand("");
      await askCode();
      byId("card-form").hidden = true;
      byId("code-form").hidden = false;
      show("", false);
      goTo("code");
      byId("code").focus();
    });
  }

  async function submitCode() {
    if (!verified) {
      const wrong = problem("code");
      fieldError("code", wrong);
      if (wrong) { byId("code").focus(); haptic("error"); return; }
    }
    await working(byId("confirm"), async () => {
      if (!verified) {
        const answer = await payme("cards.verify", {token: token, code: digits(byId("code").value)});
        token = answer.card.token;  // the verified token, not the one cards.create gave
        verified = true;
      }
      // A retry after the bot's answer was lost posts the same token again, which gets the first answer.
      const body = await handOver();
      byId("code-form").hidden = true;
      show(body.message || t.added.replace("{masked}", body.card.masked), false, true);
      goTo("added");
      haptic("success");
      if (app && app.close) setTimeout(() => app.close(), 1500);
    });
  }

  byId("card-form").addEventListener("submit", (event) => { event.preventDefault(); submitCard(); });
  byId("code-form").addEventListener("submit", (event) => { event.preventDefault(); submitCode(); });
  byId("resend").addEventListener("click", async () => {
    try { await askCode(); show("", false); } catch (error) { show(error.message, true); }
  });

  // ---- start -------------------------------------------------------------------------------------------------
  if (mainButton) {
    root.classList.add("in-telegram");
    mainButton.onClick(onMainButton);
  }
  applyTheme();
  if (app && app.onEvent) app.onEvent("themeChanged", applyTheme);
  if (app && app.ready) app.ready();
  if (app && app.expand) app.expand();
  if (config.notice) {
    // The page's session is gone or used: nothing may be bound through it (not even at Payme).
    byId("card-form").hidden = true;
    byId("code-form").hidden = true;
    show(config.notice, true, true);
  } else if (!initData()) {
    show(t.not_in_telegram, true, true);
  }
  syncMainButton(true);
})();
