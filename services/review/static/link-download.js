// A review link that allows downloads: the button asks for a short-lived
// signed URL of the version's proxy MP4 (the server logs it) and saves it.
const button = document.getElementById("link-download");
const error = document.getElementById("link-download-error");

if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST", credentials: "same-origin", headers: { "X-Framegate-CSRF": "1" },
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.message || `The server answered ${response.status}.`);
      const save = document.createElement("a");
      save.href = data.url;
      save.download = data.filename;
      document.body.append(save);
      save.click();
      save.remove();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}
