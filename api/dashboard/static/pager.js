// Cursor pages of an API list: next follows next_cursor, previous goes back through the cursors already seen.

export class Pager {
  // Pages of `load(cursor)` (which answers {items, next_cursor}), drawn by `draw(items)`.
  constructor(load, draw) {
    this.load = load;
    this.draw = draw;
    this.cursors = [null];
    this.next = null;
    this.items = [];
    this.previousButton = document.getElementById("previous");
    this.nextButton = document.getElementById("next");
    this.previousButton.addEventListener("click", () => this.turn(-1));
    this.nextButton.addEventListener("click", () => this.turn(1));
  }

  async restart() {
    this.cursors = [null];
    await this.refresh();
  }

  async refresh() {
    // Only the latest request draws: an answer overtaken by a newer one (filters changed meanwhile) is dropped.
    const request = (this.requests = (this.requests ?? 0) + 1);
    const page = await this.load(this.cursors.at(-1));
    if (request !== this.requests) return;
    this.next = page.next_cursor;
    this.previousButton.disabled = this.cursors.length === 1;
    this.nextButton.disabled = this.next === null;
    this.items = page.items;
    this.draw(page.items);
  }

  async turn(direction) {
    if (direction > 0) this.cursors.push(this.next);
    else this.cursors.pop();
    await this.refresh();
  }
}
