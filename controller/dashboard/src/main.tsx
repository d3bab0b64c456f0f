/** Entry point of the dashboard bundle. */
import { render } from 'preact'
import { App } from './app.tsx'
import './styles.css'

render(<App />, document.getElementById('app')!)
