// The web app talks to the API through the same origin: CDN → LB → web server → /api/.
const list = document.querySelector('#referees');
const form = document.querySelector('#register');
const result = document.querySelector('#register-result');

// The Firebase ID token of the signed-in user (the apps' sign-in flow stores it); none → 401.
function authorization() {
  const token = sessionStorage.getItem('refereezy.idToken');
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function showReferees() {
  const response = await fetch('/api/referees?limit=50', { headers: authorization() });
  if (!response.ok) {
    const messages = {
      401: 'Sign in with your Refereezy account to see the referees.',
      // The API shows referees to admins, and to a referee their own match officials only.
      403: 'Your account is not linked to a referee: ask an admin.',
    };
    const message = messages[response.status] ?? 'The API is unavailable.';
    list.replaceChildren(Object.assign(document.createElement('li'), { textContent: message }));
    return;
  }
  const { items } = await response.json();
  list.replaceChildren(
    ...(items.length ? items : [{ name: 'No referee yet', licenceLevel: '' }]).map((referee) =>
      Object.assign(document.createElement('li'), {
        textContent: referee.licenceLevel ? `${referee.name} (${referee.licenceLevel})` : referee.name,
      }),
    ),
  );
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = Object.fromEntries(new FormData(form));
  const response = await fetch('/api/referees', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization() },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  result.textContent = response.ok ? `Registered ${answer.name}.` : answer.error.message;
  if (response.ok) {
    form.reset();
    await showReferees();
  }
});

showReferees();
