// Local web chat. Everything the user or the bot says is inserted as text (never as HTML).
"use strict";

(function () {
  const region = document.getElementById("log-region"); // the scrolling live region
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const count = document.getElementById("count");
  const restart = document.getElementById("restart");

  const DETAILS_PREFIX = "flow:interview:details:";
  const SVG_NS = "http://www.w3.org/2000/svg";
  let maxChars = 4000; // the server says its own limit with the history
  let panels = 0;

  function newId(prefix) {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function remember(name, value) {
    try { window.localStorage.setItem(name, value); } catch (e) { /* private mode: this page only */ }
  }
  function stored(name, prefix) {
    let value = null;
    try { value = window.localStorage.getItem(name); } catch (e) { /* private mode */ }
    if (!value || !/^[A-Za-z0-9_.:@-]{1,128}$/.test(value)) {
      value = newId(prefix);
      remember(name, value);
    }
    return value;
  }
  const userId = stored("mastery.user", "u-");
  let conversationId = stored("mastery.conversation", "c-");

  // -- text -------------------------------------------------------------------------------------
  const TOKEN_RE = /(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?])|(\bLLME-\d{4}-\d{6}\b)/g;

  function nowrap(text) {
    const span = document.createElement("span");
    span.className = "nowrap";
    span.textContent = text;
    return span;
  }

  function appendText(parent, text) {
    // Plain text; http(s) links become links and ticket references never break across lines.
    let last = 0;
    text.replace(TOKEN_RE, (match, url, reference, offset) => {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(url ? makeLink(url, null) : nowrap(reference));
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function makeLink(url, label) {
    const a = document.createElement("a");
    if (label) {
      a.textContent = label;
    } else {
      // A bare address, shown without its scheme, may wrap only after a "/" (never inside a word).
      const shown = url.replace(/^https?:\/\/(www\.)?/i, "").replace(/\/$/, "");
      const parts = shown.split(/(?<=\/)/);
      parts.forEach((part, i) => {
        if (i) a.appendChild(document.createElement("wbr"));
        a.appendChild(nowrap(part));
      });
    }
    if (/^https?:\/\//i.test(url)) {
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      const note = document.createElement("span");
      note.className = "visually-hidden";
      note.textContent = " (opens in a new tab)";
      a.appendChild(note);
    }
    return a;
  }

  function renderBody(container, text) {
    // Each line is a paragraph; "- " lines become a list; a line ending in ":" before a list leads it.
    const lines = text.split("\n");
    let list = null;
    lines.forEach((line, i) => {
      const bullet = /^\s*[-•]\s+(.*)$/.exec(line);
      if (bullet) {
        if (!list) { list = document.createElement("ul"); container.appendChild(list); }
        const li = document.createElement("li");
        // "- Name: what it says": the name stands out, so a list of reasons can be skimmed.
        const term = /^([^:]{2,60}):\s+(.+)$/.exec(bullet[1]);
        if (term && !/https?:\/\//.test(term[1])) {
          const strong = document.createElement("span");
          strong.className = "term";
          strong.textContent = term[1] + ":";
          li.appendChild(strong);
          li.appendChild(document.createTextNode(" "));
          appendText(li, term[2]);
        } else {
          appendText(li, bullet[1]);
        }
        list.appendChild(li);
        return;
      }
      list = null;
      if (!line.trim()) return;
      const p = document.createElement("p");
      const next = lines[i + 1] || "";
      if (/:\s*$/.test(line) && /^\s*[-•]\s+/.test(next)) p.className = "lead";
      appendText(p, line.trim());
      container.appendChild(p);
    });
  }

  function plainLabel(label) {
    // Button labels without a leading emoji: the page draws its own icons.
    const stripped = String(label || "").replace(/^[^\p{L}\p{N}]+/u, "");
    return stripped || String(label || "");
  }

  function icon(kind) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    path.setAttribute("d", kind === "up"
      ? "M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3m7-2V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z"
      : "M17 2h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17m-7 2v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z");
    svg.appendChild(path);
    return svg;
  }

  // -- messages ---------------------------------------------------------------------------------
  function addUser(text) {
    const li = document.createElement("li");
    li.className = "msg user";
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = "You said: ";
    li.appendChild(label);
    const body = document.createElement("div");
    body.className = "bubble";
    body.textContent = text;
    li.appendChild(body);
    log.appendChild(li);
    return li;
  }

  function botMessage(reply) {
    const li = document.createElement("li");
    li.className = "msg bot " + (reply.kind || "message");
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = "Assistant said: ";
    li.appendChild(label);
    const body = document.createElement("div");
    body.className = "bubble";
    renderBody(body, reply.text || "");
    for (const link of reply.links || []) {
      const p = document.createElement("p");
      p.className = "source";
      p.appendChild(makeLink(link.url, link.label));
      body.appendChild(p);
    }
    li.appendChild(body);
    const choices = (reply.choices || []).filter((c) => !c.value.startsWith(DETAILS_PREFIX));
    const details = (reply.choices || []).find((c) => c.value.startsWith(DETAILS_PREFIX));
    if (details) li.appendChild(disclosure(details));
    if (choices.length) {
      const group = document.createElement("div");
      group.className = reply.feedback ? "choices feedback" : "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", reply.feedback ? "Was this helpful?" : "Options");
      for (const choice of choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.value = choice.value;
        const text = plainLabel(choice.label);
        const thumb = /^feedback:(up|down):/.exec(choice.value);
        if (thumb) button.appendChild(icon(thumb[1]));
        const span = document.createElement("span");
        span.textContent = text;
        button.appendChild(span);
        button.addEventListener("click", () => {
          if (busy) return;
          settle(group, button);
          submit({ action: choice.value, label: text }, text);
        });
        group.appendChild(button);
      }
      li.appendChild(group);
    }
    return li;
  }

  function flowStep(group) {
    return Array.from(group.querySelectorAll("button")).some((b) => b.dataset.value.startsWith("flow:"));
  }

  function retire() {
    // A new turn: an interview's or enquiry's earlier options are spent (as a reload shows them);
    // menus, "did you mean" and thumbs work whenever they are pressed, so they stay.
    for (const g of log.querySelectorAll(".choices")) if (flowStep(g)) settle(g, g.querySelector(".picked"));
  }

  function settle(group, picked) {
    for (const b of group.querySelectorAll("button")) b.disabled = true;
    if (picked) picked.classList.add("picked");
  }

  function disclosure(choice) {
    // "Details" as a disclosure: opened the first time, it asks for them and shows them inside.
    const box = document.createElement("details");
    box.className = "more";
    box.dataset.value = choice.value;
    const summary = document.createElement("summary");
    summary.textContent = plainLabel(choice.label);
    box.appendChild(summary);
    const panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "panel-" + (++panels);
    box.appendChild(panel);
    box.addEventListener("toggle", async () => {
      if (!box.open || box.dataset.loaded) return;
      box.dataset.loaded = "loading";
      const replies = await exchange({ action: choice.value, label: summary.textContent }, null, panel);
      if (replies === null) { delete box.dataset.loaded; box.open = false; }
      else box.dataset.loaded = "yes";
    });
    return box;
  }

  function fillPanel(panel, replies) {
    for (const reply of replies) {
      const block = document.createElement("div");
      block.className = "panel-part";
      renderBody(block, reply.text || "");
      panel.appendChild(block);
    }
  }

  // -- scrolling: the newest message comes into view; the message box never moves ---------------
  function reveal(first, last) {
    const top = first.offsetTop - 8;
    const bottom = last.offsetTop + last.offsetHeight + 8;
    if (bottom - top <= region.clientHeight) {
      region.scrollTop = Math.max(region.scrollTop, bottom - region.clientHeight);
    } else {
      region.scrollTop = top; // a long answer is read from its start
    }
  }

  // -- talking to the server --------------------------------------------------------------------
  let busy = false;
  let generation = 0; // a new conversation ignores answers still coming for the old one

  async function post(payload) {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ conversation_id: conversationId, user_id: userId }, payload)),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const text = data.error ? "Sorry: " + data.error : "Sorry, something went wrong. Please try again.";
      return [{ text: text, kind: "error" }];
    }
    return data.replies || [];
  }

  // One exchange: returns the replies shown (null when the server could not be reached).
  async function exchange(payload, echo, panel) {
    if (busy) return null;
    busy = true;
    const mine = generation;
    send.disabled = true;
    status.textContent = "Thinking…";
    if (!panel) retire();
    const first = echo ? addUser(echo) : null;
    if (first) reveal(first, first);
    try {
      const replies = await post(payload);
      if (mine !== generation) return null;
      if (panel) {
        fillPanel(panel, replies.filter((r) => !(r.choices || []).length));
        replies.filter((r) => (r.choices || []).length).forEach(showBot);
        reveal(panel.parentElement, panel.parentElement);
      } else {
        const shown = replies.map(showBot);
        // The answer is what matters: from its start when all of it does not fit.
        if (shown.length) reveal(shown[0], shown[shown.length - 1]);
        else if (first) reveal(first, first);
      }
      status.textContent = "";
      return replies;
    } catch (e) {
      if (mine !== generation) return null;
      status.textContent = "Could not reach the assistant. Check your connection and try again.";
      if (payload.text && echo && !input.value) { input.value = payload.text; updateCount(); }
      return null;
    } finally {
      if (mine === generation) {
        busy = false;
        send.disabled = false;
      }
    }
  }

  function showBot(reply) {
    const li = botMessage(reply);
    log.appendChild(li);
    return li;
  }

  async function submit(payload, echo) {
    await exchange(payload, echo, null);
    input.focus();
  }

  // -- the length limit: said before sending, never cut -----------------------------------------
  let wasOver = false;
  function length(text) { return Array.from(text).length; } // code points, as the server counts
  function updateCount() {
    const n = length(input.value);
    const over = n > maxChars;
    const near = n >= Math.floor(maxChars * 0.9);
    count.hidden = !near;
    count.classList.toggle("over", over);
    if (over) {
      count.textContent = `${n.toLocaleString("en-GB")} characters: ${(n - maxChars).toLocaleString("en-GB")} over the ` +
        `limit of ${maxChars.toLocaleString("en-GB")}. Shorten your message to send it.`;
    } else if (near) {
      count.textContent = `${n.toLocaleString("en-GB")} of ${maxChars.toLocaleString("en-GB")} characters`;
    } else {
      count.textContent = "";
    }
    if (over) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    if (over !== wasOver) {
      status.textContent = over ? "Your message is over the " + maxChars.toLocaleString("en-GB") + "-character limit." : "";
      wasOver = over;
    }
  }
  input.addEventListener("input", updateCount);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { input.focus(); return; }
    if (length(text) > maxChars) {
      updateCount();
      status.textContent = count.textContent;
      input.focus();
      return;
    }
    if (busy) return;
    input.value = "";
    updateCount();
    submit({ text: text }, text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // -- a new conversation, and the one this browser had before a reload ------------------------
  function greet() {
    return submit({ text: "hello", silent: true }, null);
  }

  restart.addEventListener("click", () => {
    generation += 1;
    busy = false;
    send.disabled = false;
    conversationId = newId("c-");
    remember("mastery.conversation", conversationId);
    log.textContent = "";
    status.textContent = "New conversation started.";
    greet();
  });

  function restore(messages) {
    // The transcript as it was shown: buttons of earlier turns stay pressed or greyed out, the
    // latest turn's buttons work, and details asked for go back behind their disclosure.
    region.setAttribute("aria-busy", "true");
    let latest = [];
    let openDetails = null;
    for (const m of messages) {
      if (m.role === "user") {
        // The button pressed is the latest live one with that value, whichever message offered it.
        const live = Array.from(log.querySelectorAll(".choices button:enabled"));
        const picked = m.action ? live.reverse().find((b) => b.dataset.value === m.action) : null;
        if (picked) settle(picked.closest(".choices"), picked);
        for (const li of latest) for (const g of li.querySelectorAll(".choices")) if (flowStep(g)) settle(g, null);
        latest = [];
        openDetails = null;
        if (m.action && m.action.startsWith(DETAILS_PREFIX)) {
          const boxes = log.querySelectorAll("details.more");
          const box = Array.from(boxes).reverse().find((b) => b.dataset.value === m.action);
          if (box) { openDetails = box; box.dataset.loaded = "yes"; continue; }
        }
        addUser(m.text);
      } else if (openDetails && !(m.choices || []).length) {
        fillPanel(openDetails.querySelector(".panel"), [m]);
      } else {
        const li = botMessage(m);
        log.appendChild(li);
        latest.push(li);
      }
    }
    region.scrollTop = region.scrollHeight;
    region.removeAttribute("aria-busy");
  }

  async function start() {
    let messages = [];
    try {
      const query = new URLSearchParams({ conversation_id: conversationId, user_id: userId });
      const response = await fetch("/api/history?" + query.toString(), { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        if (Number.isInteger(data.max_chars) && data.max_chars > 0) maxChars = data.max_chars;
        messages = Array.isArray(data.messages) ? data.messages : [];
      }
    } catch (e) { /* no history: start afresh */ }
    updateCount();
    if (messages.length) restore(messages);
    else await greet();
    document.body.dataset.ready = "true";
  }

  start();
  input.focus();
})();
