import{d as $,e,h as a}from"./chunk-FNK5SLMN.js";var o=t=>String(t??"").replace(/[&<>"']/g,n=>`&#${n.charCodeAt(0)};`);async function g(t){t.hidden=!1,t.innerHTML=`<div class="sheet"><header><h2>${e("report.title")}</h2>
    <button class="close" aria-label="${e("close")}">\xD7</button></header>
    <p class="muted">${e("report.loading")}</p></div>`;let n=()=>{t.hidden=!0,t.innerHTML=""};t.querySelector(".close").onclick=n,t.onclick=r=>{r.target===t&&n()};let i=await fetch("/api/v1/twin/report?limit=20");if(t.hidden)return;if(!i.ok){t.querySelector("p").textContent=`${i.status}`;return}let h=await i.json(),u=h.types.map(r=>{let c=r.attributes.map(s=>s.share),d=c.length?c.reduce((s,b)=>s+b,0)/c.length:1,p=r.attributes.filter(s=>s.share<1).map(s=>`${o(s.attribute)} ${a(s.share*100,1)} %`).join(", "),l=s=>`<td class="n ${s?"bad":""}">${a(s)}</td>`;return`<tr><th title="${o(r.type)}">${o($(r.type))}</th><td class="n">${a(r.count)}</td>
      <td><div class="bar"><span style="width:${(d*100).toFixed(1)}%"></span></div>
      <small>${a(d*100,1)} %${p?` \u2014 ${p}`:""}</small></td>
      ${l(r.without_geometry)}${l(r.outside_territory)}${l(r.duplicates)}${l(r.dangling)}</tr>`}).join("");t.querySelector(".sheet").innerHTML=`<header><h2>${e("report.title")} \u2014 ${a(h.entities)}</h2>
    <button class="close" aria-label="${e("close")}">\xD7</button></header>
    <table class="report"><thead><tr><th>${e("report.type")}</th><th>${e("report.count")}</th>
    <th>${e("report.filled")}</th><th>${e("report.noGeom")}</th><th>${e("report.outside")}</th>
    <th>${e("report.duplicates")}</th><th>${e("report.dangling")}</th></tr></thead><tbody>${u}</tbody></table>`,t.querySelector(".close").onclick=n}export{g as openReport};
