// Start every GOV.UK Frontend component on the page (a module script: only browsers GOV.UK Frontend supports).
import { initAll } from "../vendor/govuk/govuk-frontend.min.js";

initAll();
