/** Entry point of the web client bundle (scripts/build-web.js → dist/web/app.js). */
import { render } from 'preact';
import { App } from './components/App';

const root = document.getElementById('app');
if (root) render(<App />, root);
