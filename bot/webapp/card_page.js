// The card page's script (served by the bot as /card/page.js, so the page's CSP allows no inline script).
// The card number goes from here straight to Payme; the bot gets only the verified token, with the page's one-time
// session and Telegram's signed initData.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("config").textContent);
  const t = config.texts;
  const byId = (id) => document.getElementById(id);
  const message = byId("message");
  let token = null;
  let verified = false;  // Payme verified `token`: a retry only posts it to the bot again
  let requestId = 0;
  let timer = null;

  function initData() {
    const app = window.Telegram && window.Telegram.WebApp;
    if (app && app.initData) return app.initData;
    const hash = new URLSearchParams(location.hash.slice(1));
    return hash.get("tgWebAppData") || "";
  }

  function show(text, isError) {
    message.textContent = text || "";
    message.className = "message" + (isError ? " error" : "");
  }

  function busy(button, on) {
    button.disabled = on;
    if (on) show(t.busy, false);
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

  function digits(text) { return (text || "").replace(/\D/g, ""); }

  byId("number").addEventListener("input", (event) => {
    const value = digits(event.target.value).slice(0, 16);
    event.target.value = value.replace(/(\d{4})(?=\d)/g, "$1 ");
  });
  byId("expiry").addEventListener("input", (event) => {
    const value = digits(event.target.value).slice(0, 4);
    event.target.value = value.length > 2 ? value.slice(0, 2) + "/" + value.slice(2) : value;
  });

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
    byId("code-sent").textContent = t.code_sent.replace("{phone}", sent.phone);
    countdown(sent.wait);
  }

  byId("card-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (config.notice) { show(config.notice, true); return; }
    const number = digits(byId("number").value);
    const expiry = digits(byId("expiry").value);
    if (number.length !== 16) { show(t.bad_number, true); return; }
    if (expiry.length !== 4 || +expiry.slice(0, 2) < 1 || +expiry.slice(0, 2) > 12) { show(t.bad_expiry, true); return; }
    if (!initData()) { show(t.not_in_telegram, true); return; }
    const button = byId("continue");
    busy(button, true);
    try {
      const created = await payme("cards.create", {card: {number: number, expire: expiry}, save: true});
      token = created.card.token;
      verified = false;
      byId("number").value = "";  // the number is not kept on the page once Payme has it
      byId("expiry").value = "";
      await askCode();
      byId("card-form").hidden = true;
      byId("code-form").hidden = false;
      document.body.dataset.step = "code";
      show("", false);
      byId("code").focus();
    } catch (error) {
      show(error.message, true);
    } finally {
      button.disabled = false;
    }
  });

  byId("resend").addEventListener("click", async () => {
    try { await askCode(); show("", false); } catch (error) { show(error.message, true); }
  });

  byId("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = byId("confirm");
    if (!verified) {
      const code = digits(byId("code").value);
      if (code.length !== 6) { show(t.bad_code, true); return; }
      busy(button, true);
      try {
        const answer = await payme("cards.verify", {token: token, code: code});
        token = answer.card.token;  // the verified token, not the one cards.create gave
        verified = true;
      } catch (error) {
        show(error.message, true);
        button.disabled = false;
        return;
      }
    } else {
      busy(button, true);  // the bot's answer was lost: the same token again, which gets the first answer
    }
    try {
      const body = await handOver();
      byId("code-form").hidden = true;
      show(body.message || t.added.replace("{masked}", body.card.masked), false);
      document.body.dataset.step = "added";
      const app = window.Telegram && window.Telegram.WebApp;
      if (app && app.close) setTimeout(() => app.close(), 1500);
    } catch (error) {
      show(error.message, true);
      button.disabled = false;
    }
  });

  const app = window.Telegram && window.Telegram.WebApp;
  if (app && app.ready) app.ready();
  if (config.notice) {
    // The page's session is gone or used: nothing may be bound through it (not even at Payme).
    byId("card-form").hidden = true;
    byId("code-form").hidden = true;
    show(config.notice, true);
  } else if (!initData()) {
    show(t.not_in_telegram, true);
  }
})();
