// Local web chat. Everything the user or the bot says is inserted as text (never as HTML).
"use strict";

(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const restart = document.getElementById("restart");

  function newId(prefix) {
    const bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function stored(name, prefix) {
    let value = null;
    try { value = window.localStorage.getItem(name); } catch (e) { /* private mode */ }
    if (!value) {
      value = newId(prefix);
      try { window.localStorage.setItem(name, value); } catch (e) { /* ignore */ }
    }
    return value;
  }
  const userId = stored("mastery.user", "u-");
  let conversationId = stored("mastery.conversation", "c-");

  const URL_RE = /(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?])/g;

  function appendText(parent, text) {
    // Plain text with clickable http(s) links.
    let last = 0;
    text.replace(URL_RE, (match, _g, offset) => {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(makeLink(match, match));
      last = offset + match.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function makeLink(url, label) {
    const a = document.createElement("a");
    a.textContent = label;
    if (/^https?:\/\//i.test(url)) {
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    return a;
  }

  function renderBody(container, text) {
    // Paragraphs separated by blank lines; lines starting "- " become a bulleted list.
    const blocks = text.split(/\n\s*\n/);
    for (const block of blocks) {
      const lines = block.split("\n");
      let list = null;
      let para = null;
      for (const line of lines) {
        const bullet = /^\s*[-•]\s+(.*)$/.exec(line);
        if (bullet) {
          if (!list) { list = document.createElement("ul"); container.appendChild(list); }
          const li = document.createElement("li");
          appendText(li, bullet[1]);
          list.appendChild(li);
          para = null;
        } else if (line.trim()) {
          list = null;
          if (!para) { para = document.createElement("p"); container.appendChild(para); }
          else { para.appendChild(document.createTextNode(" ")); }
          appendText(para, line.trim());
        }
      }
    }
  }

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
    li.scrollIntoView({ block: "end" });
  }

  function addBot(reply) {
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
    if ((reply.choices || []).length) {
      const group = document.createElement("div");
      group.className = reply.feedback ? "choices feedback" : "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", reply.feedback ? "Feedback" : "Options");
      for (const choice of reply.choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.label;
        button.addEventListener("click", () => {
          for (const b of group.querySelectorAll("button")) b.disabled = true;
          button.classList.add("picked");
          submit({ action: choice.value }, choice.label);
        });
        group.appendChild(button);
      }
      li.appendChild(group);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  let busy = false;
  async function submit(payload, echo) {
    if (busy) return;
    busy = true;
    send.disabled = true;
    status.textContent = "Thinking…";
    if (echo) addUser(echo);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ conversation_id: conversationId, user_id: userId }, payload)),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        addBot({ text: data.error ? "Sorry: " + data.error : "Sorry, something went wrong. Please try again.", kind: "error" });
      } else {
        for (const reply of data.replies || []) addBot(reply);
      }
      status.textContent = "";
    } catch (e) {
      status.textContent = "Could not reach the assistant. Check your connection and try again.";
    } finally {
      busy = false;
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) { input.focus(); return; }
    input.value = "";
    submit({ text: text }, text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  restart.addEventListener("click", () => {
    conversationId = newId("c-");
    try { window.localStorage.setItem("mastery.conversation", conversationId); } catch (e) { /* ignore */ }
    log.textContent = "";
    submit({ text: "hello" }, null);
  });

  if (!log.children.length) submit({ text: "hello" }, null);
  input.focus();
})();
