// GOV.UK Frontend's "JavaScript is on" classes, set before the page renders (loaded first in <body>).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
