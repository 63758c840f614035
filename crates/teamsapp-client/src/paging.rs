//! Paging: streams that follow `@odata.nextLink`.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::Stream;
use teamsapp_types::{
    ChatCollectionResponse, Operation, TeamCollectionResponse, TeamsAppCollectionResponse,
    TeamsAppDefinitionCollectionResponse, TeamsAppInstallationCollectionResponse,
    UserCollectionResponse, UserScopeTeamsAppInstallationCollectionResponse,
};

use crate::client::{Prepared, decode};
use crate::credential::BoxFuture;
use crate::error::bounded;
use crate::{Client, Error};

/// A page of a Graph collection: its items and the link to the next page.
pub trait Page {
    /// The item type.
    type Item;

    /// The `@odata.nextLink`, if there is a next page.
    fn next_link(&self) -> Option<&str>;

    /// The items of this page.
    fn into_items(self) -> Vec<Self::Item>;
}

macro_rules! page {
    ($($page:ty => $item:ty),* $(,)?) => {$(
        impl Page for $page {
            type Item = $item;

            fn next_link(&self) -> Option<&str> {
                self.odata_next_link.as_deref()
            }

            fn into_items(self) -> Vec<Self::Item> {
                self.value
            }
        }
    )*};
}

page! {
    TeamsAppInstallationCollectionResponse => teamsapp_types::TeamsAppInstallation,
    UserScopeTeamsAppInstallationCollectionResponse => teamsapp_types::UserScopeTeamsAppInstallation,
    TeamsAppCollectionResponse => teamsapp_types::TeamsApp,
    TeamsAppDefinitionCollectionResponse => teamsapp_types::TeamsAppDefinition,
    UserCollectionResponse => teamsapp_types::User,
    ChatCollectionResponse => teamsapp_types::Chat,
    TeamCollectionResponse => teamsapp_types::Team,
}

/// What to fetch next.
enum Next {
    /// The operation itself (or an error building it, reported on first poll).
    First(Result<Prepared, Error>),
    /// An `@odata.nextLink`.
    Link(String),
}

/// A stream of the pages of a list operation, following `@odata.nextLink`.
///
/// Created by [`Client::pages`] or [`Client::resume_from`]. Each page is the operation's typed
/// collection response. The stream ends after the last page, or after the first error.
///
/// It refuses a next link to another origin than the client's base URL
/// ([`Error::ForeignNextLink`]) and a link it has already followed ([`Error::PagingLoop`]). Save
/// [`Pages::next_link`] to resume later with [`Client::resume_from`].
pub struct Pages<O: Operation> {
    client: Client,
    next: Option<Next>,
    /// The link not yet fetched successfully: where to resume.
    resume: Option<String>,
    seen: HashSet<String>,
    in_flight: Option<BoxFuture<'static, Result<O::Response, Error>>>,
    _op: PhantomData<fn() -> O>,
}

impl<O: Operation> fmt::Debug for Pages<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("operation", &O::ROUTE.operation_id)
            .field("next_link", &self.resume)
            .finish_non_exhaustive()
    }
}

impl<O> Pages<O>
where
    O: Operation + 'static,
    O::Response: Page + Send + 'static,
{
    pub(crate) fn first(client: Client, prepared: Result<Prepared, Error>) -> Self {
        let seen = prepared
            .as_ref()
            .map(|p| HashSet::from([p.url.to_string()]))
            .unwrap_or_default();
        Self {
            client,
            next: Some(Next::First(prepared)),
            resume: None,
            seen,
            in_flight: None,
            _op: PhantomData,
        }
    }

    pub(crate) fn from_link(client: Client, link: String) -> Self {
        Self {
            client,
            resume: Some(link.clone()),
            next: Some(Next::Link(link)),
            seen: HashSet::new(),
            in_flight: None,
            _op: PhantomData,
        }
    }

    /// The `@odata.nextLink` of the last page yielded (or the link a failed fetch was for): save it
    /// and pass it to [`Client::resume_from`] to continue later. `None` before the first page and
    /// after the last one.
    pub fn next_link(&self) -> Option<&str> {
        self.resume.as_deref()
    }

    /// The items of every page, one by one.
    pub fn items(self) -> Items<O> {
        Items {
            pages: self,
            buffer: VecDeque::new(),
        }
    }

    /// Starts fetching a next link, after checking it.
    fn follow(&mut self, link: &str) -> Result<Prepared, Error> {
        let url = reqwest::Url::parse(link).map_err(|_| Error::ForeignNextLink {
            link: bounded(link),
        })?;
        if !self.client.same_origin(&url) {
            return Err(Error::ForeignNextLink {
                link: bounded(link),
            });
        }
        if !self.seen.insert(url.to_string()) {
            return Err(Error::PagingLoop {
                link: bounded(link),
            });
        }
        self.client.check_cloud(O::ROUTE)?;
        Ok(Prepared {
            route: O::ROUTE,
            url,
            body: None,
            idempotent: O::ROUTE.idempotent,
            costs: vec![(O::ROUTE.class, 1)],
            gates: vec![O::ROUTE.class],
        })
    }
}

impl<O> Stream for Pages<O>
where
    O: Operation + 'static,
    O::Response: Page + Send + 'static,
{
    type Item = Result<O::Response, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(fut) = this.in_flight.as_mut() {
                let result = ready!(fut.as_mut().poll(cx));
                this.in_flight = None;
                return Poll::Ready(Some(match result {
                    Ok(page) => {
                        this.resume = page.next_link().map(str::to_owned);
                        this.next = this.resume.clone().map(Next::Link);
                        Ok(page)
                    }
                    Err(e) => {
                        this.next = None;
                        Err(e)
                    }
                }));
            }
            let prepared = match this.next.take() {
                None => return Poll::Ready(None),
                Some(Next::First(prepared)) => prepared,
                Some(Next::Link(link)) => this.follow(&link),
            };
            let prepared = match prepared {
                Ok(prepared) => prepared,
                Err(e) => return Poll::Ready(Some(Err(e))),
            };
            let client = this.client.clone();
            this.in_flight = Some(Box::pin(async move {
                let raw = client.execute(prepared).await?;
                decode::<O>(&raw)
            }));
        }
    }
}

/// A stream of the items of a list operation, across pages; see [`Pages`].
pub struct Items<O: Operation>
where
    O::Response: Page,
{
    pages: Pages<O>,
    buffer: VecDeque<<O::Response as Page>::Item>,
}

impl<O: Operation> fmt::Debug for Items<O>
where
    O::Response: Page,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("pages", &self.pages)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl<O> Items<O>
where
    O: Operation + 'static,
    O::Response: Page + Send + 'static,
{
    /// The link of the page after the one being read; see [`Pages::next_link`]. Resuming from it
    /// skips the [`remaining_in_page`](Self::remaining_in_page) items of the current page.
    pub fn next_link(&self) -> Option<&str> {
        self.pages.next_link()
    }

    /// How many items of the current page have not been yielded yet.
    pub fn remaining_in_page(&self) -> usize {
        self.buffer.len()
    }
}

impl<O> Stream for Items<O>
where
    O: Operation + 'static,
    O::Response: Page + Send + 'static,
    <O::Response as Page>::Item: Unpin,
{
    type Item = Result<<O::Response as Page>::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.buffer.extend(page.into_items()),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl Client {
    /// The pages of a list operation, following `@odata.nextLink`; `$select`, `$expand`, `$filter`
    /// and `$top` come from the request type.
    pub fn pages<O>(&self, op: &O) -> Pages<O>
    where
        O: Operation + 'static,
        O::Response: Page + Send + 'static,
    {
        Pages::first(self.clone(), self.prepare(op))
    }

    /// The items of a list operation, across pages.
    pub fn items<O>(&self, op: &O) -> Items<O>
    where
        O: Operation + 'static,
        O::Response: Page + Send + 'static,
    {
        self.pages(op).items()
    }

    /// Resumes paging from a saved `@odata.nextLink` of operation `O` (see [`Pages::next_link`]).
    /// The link must have the base URL's origin.
    pub fn resume_from<O>(&self, link: impl Into<String>) -> Pages<O>
    where
        O: Operation + 'static,
        O::Response: Page + Send + 'static,
    {
        Pages::from_link(self.clone(), link.into())
    }
}
