/*
 * The admin's search-as-you-type boxes are drawn by Select2, which names a box by the value
 * chosen in it: an empty box has no name for a screen reader, and its typing field none at
 * all. This gives each the label of the field it stands for. Loaded on every admin page
 * (templates/admin/base_site.html); it does nothing where there is no such box.
 */
"use strict";
(function () {
    function labelOf(select) {
        const label = select.id && document.querySelector(`label[for="${select.id}"]`);
        return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
    }

    function name(select) {
        const text = labelOf(select);
        const box = select.nextElementSibling;
        if (!text || !box || !box.classList.contains("select2")) {
            return;
        }
        const combobox = box.querySelector(".select2-selection");
        if (combobox) {
            combobox.setAttribute("aria-label", text);
            // aria-labelledby (the chosen value) would win over aria-label; the value is read
            // as the box's value anyway.
            combobox.removeAttribute("aria-labelledby");
        }
        box.querySelectorAll(".select2-search__field").forEach((field) => field.setAttribute("aria-label", text));
        box.querySelectorAll(".select2-selection__rendered").forEach((rendered) => {
            if (rendered.tagName === "UL") {
                // Select2 puts its typing field in the list of chosen values, which a list may not hold.
                rendered.setAttribute("role", "presentation");
            } else {
                // The chosen value, shown as a read-only text box: named like its field.
                rendered.setAttribute("aria-label", text);
            }
        });
    }

    function nameAll() {
        document.querySelectorAll("select.admin-autocomplete").forEach(name);
    }

    // After the admin's own script has drawn the boxes (it does so when the page is ready).
    window.addEventListener("load", nameAll);
    document.addEventListener("formset:added", () => window.setTimeout(nameAll));
    if (window.django && window.django.jQuery) {
        // Select2 redraws a box when its value changes, and draws the typing field of an open list.
        window.django.jQuery(document).on("change select2:open", "select.admin-autocomplete", (event) => {
            window.setTimeout(() => {
                name(event.target);
                const open = document.querySelector(".select2-container--open .select2-search__field");
                if (open) {
                    open.setAttribute("aria-label", labelOf(event.target));
                }
            });
        });
    }
})();
